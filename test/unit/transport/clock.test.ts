import { describe, expect, it } from 'vitest';
import { stopwatch, timerAfter } from '../../../src/transport/clock.js';

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const fired = (elapsed: () => number, ms: number): Promise<number> =>
  new Promise((resolve) => {
    timerAfter(elapsed, ms, () => resolve(elapsed()));
  });

describe('timerAfter', () => {
  it('counts from the stopwatch, not from when it was armed', async () => {
    const elapsed = stopwatch();
    busyFor(300);
    const at = await fired(elapsed, 400);
    expect(at).toBeGreaterThanOrEqual(400);
    // Counted from arming it would fire at 700 ms or later; the margin is for a loaded machine.
    expect(at).toBeLessThan(700);
  });

  it('never fires before its delay has passed', async () => {
    // A plain setTimeout(5) ends before 5 ms have passed on performance.now() for about 2% of timers here.
    const early: number[] = [];
    for (let wave = 0; wave < 100; wave++) {
      const results = await Promise.all(Array.from({ length: 10 }, () => fired(stopwatch(), 5)));
      early.push(...results.filter((at) => at < 5));
    }
    expect(early).toEqual([]);
  });

  it('fires at once when the delay has already passed, and not at all once cancelled', async () => {
    const elapsed = stopwatch();
    busyFor(20);
    expect(await fired(elapsed, 10)).toBeGreaterThanOrEqual(20);
    let calls = 0;
    const cancel = timerAfter(stopwatch(), 20, () => calls++);
    cancel();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(calls).toBe(0);
  });
});
