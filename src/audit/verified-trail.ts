import type { AuditRecord } from './record.js';
import { printable } from './printable.js';
import type { ChainReport } from './report.js';
import { readStoredTrail } from './stored-trail.js';
import { failureRun, isReadable, verifyChain, type ChainVerdict, type TrailRecord } from './verify.js';
import { SoarError } from '../errors.js';

export interface Trail {
  store: string;
  records: TrailRecord[];
  verdict: ChainVerdict;
  keyed: boolean;
}

/** The store's whole trail, verified with the audit key (soar audit, and soar serve's audit export). */
export function readVerifiedTrail(store: string, key: Buffer | undefined): Trail {
  const { records, head } = readStoredTrail(store);
  return { store, records, verdict: verifyChain(records, { key, head: head ?? null }), keyed: key !== undefined };
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

