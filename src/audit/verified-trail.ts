import type { AuditRecord } from './record.js';
import { printable } from './printable.js';
import type { ChainReport } from './report.js';
import { storedTrailSteps } from './stored-trail.js';
import { chainSteps, failureRun, isReadable, type ChainVerdict, type TrailRecord } from './verify.js';
import { runAtOnce, runInTurns, type Steps } from '../turns.js';
import { SoarError } from '../errors.js';

export interface Trail {
  store: string;
  records: TrailRecord[];
  verdict: ChainVerdict;
  keyed: boolean;
}

/** The store's whole trail, verified with the audit key (soar audit). */
export function readVerifiedTrail(store: string, key: Buffer | undefined): Trail {
  return runAtOnce(verifiedTrailSteps(store, key));
}

/**
 * The same, a slice a turn of the event loop (soar serve's audit export): reading and verifying
 * the 20,000 records of 10,000 waiting runs took 0.8 s, in which no alert or decision was served.
 */
export function readVerifiedTrailInTurns(store: string, key: Buffer | undefined): Promise<Trail> {
  return runInTurns(verifiedTrailSteps(store, key));
}

function* verifiedTrailSteps(store: string, key: Buffer | undefined): Steps<Trail> {
  const { records, head } = yield* storedTrailSteps(store);
  const verdict = yield* chainSteps(records, { key, head: head ?? null });
  return { store, records, verdict, keyed: key !== undefined };
}

/** RUN's readable records (possibly none). */
export const recordsOf = (trail: Trail, run: string): AuditRecord[] => trail.records.filter(isReadable).filter((record) => record.run === run);

/** RUN's records; none is a mistake in RUN (unless the trail is damaged, which verify reports). */
export function requireRecords(trail: Trail, run: string): AuditRecord[] {
  const records = recordsOf(trail, run);
  if (records.length > 0) return records;
  const runs = [...new Set(trail.records.filter(isReadable).map((record) => record.run))].slice(-5).map(printable);
  throw new SoarError('RUN_NOT_FOUND', `the audit trail of ${trail.store} has no record of run ${printable(run)}${runs.length > 0 ? ` (latest runs: ${runs.join(', ')})` : ' (it is empty)'}`);
}

export function chainReport(trail: Trail, run: string | undefined): ChainReport {
  const { verdict } = trail;
  const badRun = verdict.ok ? undefined : failureRun(trail.records, verdict);
  return { verdict, keyed: trail.keyed, failureRun: badRun, failureInRun: run === undefined || badRun === undefined ? undefined : badRun === run };
}

