import { headMacMatches, type AuditHead } from './head.js';
import { GENESIS, recordHash, type AuditRecord } from './record.js';
import { runAtOnce, turnEnds, type Steps } from '../turns.js';

/** A stored record that could not even be read back (data that is not JSON, a column of the wrong type). */
export interface UnreadableRecord {
  seq: number;
  unreadable: string;
}

export type TrailRecord = AuditRecord | UnreadableRecord;

export type ChainProblem =
  /** The record's content or hash was changed. */
  | 'edited'
  /** Records were deleted from the middle (or the front). */
  | 'missing'
  /** A record that soar did not write was put into the chain. */
  | 'inserted'
  /** Genuine records stand at the wrong place. */
  | 'reordered'
  /** Records were cut from the end: the head anchor names a later one. */
  | 'truncated'
  /** The first record does not start the chain. */
  | 'bad-link'
  /** The chain holds together but is not the one anchored: it was recomputed after an edit. */
  | 'rewritten'
  /** The store has records but no head anchor: a cut from the end could not be seen. */
  | 'head-missing'
  /** The head anchor's MAC does not match the key. */
  | 'head-forged';

export type ChainVerdict =
  | {
      ok: true;
      count: number;
      /** The chain's last record (its hash stands for the whole trail), if any. */
      last: { seq: number; hash: string } | undefined;
      /** Whether a head anchor vouched for the end of the chain. */
      anchored: boolean;
      /** Records after the anchored one: written after the last anchor (a crash between commit and anchor). */
      unanchored: number;
    }
  | { ok: false; seq: number; problem: ChainProblem; message: string };

export type ChainFailure = Extract<ChainVerdict, { ok: false }>;

export interface VerifyOptions {
  /** The HMAC key the trail was written with; with it, a rewriter without the key cannot re-chain. */
  key?: Buffer;
  /**
   * The head anchor kept outside the trail. `null`: looked for and not found (a failure when there
   * are records); undefined: not checked (records read without their anchor).
   */
  head?: AuditHead | null;
}

export const isReadable = (record: TrailRecord): record is AuditRecord => !('unreadable' in record);

const fail = (seq: number, problem: ChainProblem, message: string): ChainFailure => ({ ok: false, seq, problem, message });

/**
 * Verifies a hash chain in stored order and names the FIRST bad record: where the chain stops
 * holding, and what was most likely done there (deleted, inserted, moved, edited).
 */
export function verifyChain(records: readonly TrailRecord[], options: VerifyOptions = {}): ChainVerdict {
  return runAtOnce(chainSteps(records, options));
}

/** verifyChain, pausing after every few hundred records (see src/turns.ts). */
export function* chainSteps(records: readonly TrailRecord[], options: VerifyOptions = {}): Steps<ChainVerdict> {
  const hashes = new Map<string, AuditRecord>();
  for (const record of records) if (isReadable(record) && !hashes.has(record.hash)) hashes.set(record.hash, record);
  const chain = { records, hashes, seqs: new Set(records.map((record) => record.seq)), key: options.key };
  let previous: AuditRecord | undefined;
  for (const [index, record] of records.entries()) {
    const failure = checkRecord(record, previous, records[index + 1], chain);
    if (failure) return failure;
    previous = record as AuditRecord;
    if (turnEnds(index)) yield;
  }
  return checkEnd(records as readonly AuditRecord[], previous, options);
}

/** Which run a failure's record belongs to, when that record is still there to tell. */
export function failureRun(records: readonly TrailRecord[], failure: ChainFailure): string | undefined {
  const record = records.find((candidate) => candidate.seq === failure.seq);
  return record && isReadable(record) ? record.run : undefined;
}

interface Chain {
  records: readonly TrailRecord[];
  hashes: ReadonlyMap<string, AuditRecord>;
  seqs: ReadonlySet<number>;
  key: Buffer | undefined;
}

const sealed = (record: AuditRecord, key: Buffer | undefined, seq = record.seq): boolean => {
  const { hash, ...content } = record;
  return recordHash({ ...content, seq }, key) === hash;
};

function checkRecord(record: TrailRecord, previous: AuditRecord | undefined, next: TrailRecord | undefined, chain: Chain): ChainFailure | undefined {
  const expected = (previous?.seq ?? 0) + 1;
  if (!Number.isSafeInteger(record.seq)) return fail(expected, 'edited', `record ${expected} has no usable seq (${String(record.seq)})`);
  if (previous && record.seq === previous.seq) return fail(record.seq, 'inserted', `two records claim seq ${record.seq}: one was inserted`);
  if (record.seq < expected) return fail(record.seq, 'reordered', `record ${record.seq} comes after record ${expected - 1}: records were moved`);
  if (record.seq > expected) {
    if (chain.seqs.has(expected)) return fail(expected, 'reordered', `record ${expected} comes after record ${record.seq}: records were moved`);
    const gap = record.seq === expected + 1 ? `record ${expected} is` : `records ${expected} to ${record.seq - 1} are`;
    return fail(expected, 'missing', `${gap} missing: the trail goes from ${expected - 1} to ${record.seq}, so they were deleted`);
  }
  if (!isReadable(record)) return fail(record.seq, 'edited', `record ${record.seq} was edited: ${record.unreadable}`);

  const link = previous?.hash ?? GENESIS;
  const linked = record.prev === link;
  const isSealed = sealed(record, chain.key);
  if (isSealed && linked) return undefined;
  // The record after this one was written at this seq, linked to the one before: this one was pushed in.
  const intruder = next !== undefined && isReadable(next) && next.prev === link && sealed(next, chain.key, record.seq);
  const inserted = () => fail(record.seq, 'inserted', `record ${record.seq} was inserted: the record after it was written as ${record.seq}, right after record ${expected - 1}`);
  if (!isSealed) {
    const home = linked ? undefined : homeSeq(record, chain);
    if (home !== undefined) return misplaced(record, home, chain);
    return intruder ? inserted() : edited(record, chain.key);
  }
  if (intruder) return inserted();
  // Sealed but linked elsewhere: whoever changed it could recompute hashes (no key, or the key).
  if (!previous) return fail(record.seq, 'bad-link', `record ${record.seq} does not start the chain: it links to ${record.prev.slice(0, 16)}…, not to the genesis`);
  const target = chain.hashes.get(record.prev);
  if (target) return fail(record.seq, 'reordered', `record ${record.seq} links to record ${target.seq}, not to record ${previous.seq}: records were moved`);
  return fail(previous.seq, 'edited', `record ${previous.seq} was rewritten and its hash recomputed: record ${record.seq} still links to the original (${record.prev.slice(0, 16)}…)`);
}

function edited(record: AuditRecord, key: Buffer | undefined): ChainFailure {
  const hint = record.seq === 1 ? (key ? ' (or the key is not the one this trail was written with)' : ' (or the trail is keyed: give its key, config audit.key)') : '';
  return fail(record.seq, 'edited', `record ${record.seq} was edited: its hash does not match its content${hint}`);
}

/** A genuine record (sealed under another seq, its home) at the wrong place tells what happened around it. */
function misplaced(record: AuditRecord, home: number, chain: Chain): ChainFailure {
  if (home > record.seq) {
    // Its predecessor still exists elsewhere: moved. It does not: deleted, and the rest renumbered.
    if (chain.hashes.has(record.prev)) {
      return fail(record.seq, 'reordered', `record ${record.seq} holds the record written as ${home}: records were moved`);
    }
    return fail(record.seq, 'missing', `records were deleted before record ${record.seq} and the rest renumbered: it was written as ${home}`);
  }
  const occupant = chain.records.find((candidate) => candidate.seq === home);
  if (occupant && isReadable(occupant) && occupant.hash === record.hash) {
    return fail(record.seq, 'inserted', `record ${record.seq} is a copy of record ${home}`);
  }
  return fail(home, 'inserted', `record ${home} was inserted: the records after it were renumbered (record ${record.seq} was written as ${home})`);
}

/** How far from its place a moved record is looked for (records deleted or inserted before it). */
const SEARCH_WINDOW = 4096;

/** The seq a record was sealed with: where its link points, else the nearest seq that seals it. */
function homeSeq(record: AuditRecord, chain: Chain): number | undefined {
  const linkedTo = record.prev === GENESIS ? 0 : chain.hashes.get(record.prev)?.seq;
  if (linkedTo !== undefined && linkedTo + 1 !== record.seq && sealed(record, chain.key, linkedTo + 1)) return linkedTo + 1;
  for (let distance = 1; distance <= SEARCH_WINDOW; distance += 1) {
    if (sealed(record, chain.key, record.seq + distance)) return record.seq + distance;
    if (record.seq - distance >= 1 && sealed(record, chain.key, record.seq - distance)) return record.seq - distance;
  }
  return undefined;
}

function checkEnd(records: readonly AuditRecord[], last: AuditRecord | undefined, options: VerifyOptions): ChainVerdict {
  const ok = { ok: true as const, count: records.length, last: last && { seq: last.seq, hash: last.hash } };
  const { head, key } = options;
  if (head === undefined) return { ...ok, anchored: false, unanchored: 0 };
  const end = (last?.seq ?? 0) + 1;
  if (head === null) {
    if (!last) return { ...ok, anchored: false, unanchored: 0 };
    return fail(end, 'head-missing', `the trail has no head anchor: records cut from its end (after ${last.seq}) could not be seen; it was deleted, or the store was written before soar kept one`);
  }
  if (key && !headMacMatches(head, key)) {
    return fail(head.seq, 'head-forged', `the head anchor (record ${head.seq}) ${head.mac ? 'has a MAC the key does not give' : 'has no MAC'}: it was forged, or written with another key`);
  }
  if (!last || head.seq > last.seq) {
    const cut = head.seq === end ? `record ${end} is` : `records ${end} to ${head.seq} are`;
    return fail(end, 'truncated', `${cut} missing from the end: the head anchor says the trail reached ${head.seq}`);
  }
  const anchoredRecord = records.find((record) => record.seq === head.seq);
  if (anchoredRecord?.hash !== head.hash) {
    return fail(head.seq, 'rewritten', `record ${head.seq} is not the one anchored: the chain was edited at or before it and its hashes recomputed`);
  }
  return { ...ok, anchored: true, unanchored: last.seq - head.seq };
}
