import { canonicalDigest } from '../canonical-json.js';

/** One entry of the audit trail. `hash` covers every other field, `prev` is the record before. */
export interface AuditRecord {
  seq: number;
  time: string;
  run: string;
  kind: string;
  actor: string;
  data: unknown;
  prev: string;
  hash: string;
}

export type AuditEntry = Pick<AuditRecord, 'run' | 'kind' | 'actor' | 'data'>;

/** The `prev` of the first record. */
export const GENESIS = '0'.repeat(64);

/**
 * The hash of a record: sha256 over the canonical JSON of all its fields but `hash`, or an
 * HMAC-SHA256 with a key kept outside the store (then a rewriter of the store cannot re-chain).
 */
export function recordHash(record: Omit<AuditRecord, 'hash'>, key?: Buffer): string {
  return canonicalDigest(record, key);
}

export function chainRecord(previous: Pick<AuditRecord, 'seq' | 'hash'> | undefined, entry: AuditEntry, time: Date, key?: Buffer): AuditRecord {
  const unsealed = { seq: (previous?.seq ?? 0) + 1, time: time.toISOString(), ...entry, prev: previous?.hash ?? GENESIS };
  return { ...unsealed, hash: recordHash(unsealed, key) };
}
