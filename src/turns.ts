import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Long work written once for both callers: as a generator that yields at points where it may
 * pause. A command runs it at once; soar serve runs it a slice a turn of its event loop, so that
 * alerts and decisions are served while it reads and verifies a large audit trail.
 */
export type Steps<T> = Generator<void, T, void>;

/** Records a generator handles between two yields: a few milliseconds of hashing or reading. */
export const RECORDS_A_TURN = 256;

/** True after every RECORDS_A_TURN-th record: a point to yield at. */
export const turnEnds = (index: number): boolean => (index + 1) % RECORDS_A_TURN === 0;

export function runAtOnce<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

export async function runInTurns<T>(steps: Steps<T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await nextTurn();
  }
}
