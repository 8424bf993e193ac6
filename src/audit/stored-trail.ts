import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { SoarError } from '../errors.js';
import { auditRowData } from '../store/audit-table.js';
import { InternedJson } from '../store/interned-json.js';
import { readAuditHead, type AuditHead } from './head.js';
import type { TrailRecord } from './verify.js';
import { runAtOnce, turnEnds, type Steps } from '../turns.js';

/** A store's whole audit trail as it is on disk, read for review: nothing is written. */
export interface StoredTrail {
  records: TrailRecord[];
  head: AuditHead | undefined;
}

const TEXT_COLUMNS = ['time', 'run', 'kind', 'actor', 'prev', 'hash'] as const;

/**
 * Reads every audit record of the store, tolerating damage: a row that cannot be read back
 * becomes an UnreadableRecord for verify to report, instead of an exception that hides the rest.
 */
export function readStoredTrail(store: string): StoredTrail {
  return runAtOnce(storedTrailSteps(store));
}

/**
 * readStoredTrail, pausing after every few hundred records (see src/turns.ts). It reads in one
 * statement, so from one snapshot of the store however long it pauses.
 */
export function* storedTrailSteps(store: string): Steps<StoredTrail> {
  if (!existsSync(store)) {
    throw new SoarError('STORE_NOT_FOUND', `there is no store at ${store}: give --store FILE, set store in the config, or set $SOAR_STORE`);
  }
  // The head first: a commit landing between the two reads then shows as unanchored, never as a cut.
  const head = readAuditHead(store);
  let db: Database.Database;
  try {
    db = new Database(store, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new SoarError('STORE_UNAVAILABLE', `cannot open the store ${store}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // SELECT *: a store from before interned audit data has no `interned` column.
    const rows = db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as IterableIterator<Record<string, unknown>>;
    let json: InternedJson | undefined;
    const blobs = () => (json ??= new InternedJson(db));
    const records: TrailRecord[] = [];
    for (const row of rows) {
      records.push(toTrailRecord(row, blobs));
      if (turnEnds(records.length - 1)) yield;
    }
    return { records, head };
  } catch (error) {
    throw new SoarError('AUDIT_TABLE_UNREADABLE', `the store ${store} has no readable audit table (${(error as Error).message}): it is not a soar store, or it was tampered with`, { cause: error });
  } finally {
    db.close();
  }
}

function toTrailRecord(row: Record<string, unknown>, blobs: () => InternedJson): TrailRecord {
  const seq = typeof row.seq === 'number' ? row.seq : Number.NaN;
  const wrong = TEXT_COLUMNS.find((column) => typeof row[column] !== 'string');
  if (wrong) return { seq, unreadable: `its ${wrong} is not text` };
  if (typeof row.data !== 'string') return { seq, unreadable: 'its data is not text' };
  let data: unknown;
  try {
    data = auditRowData({ data: row.data, interned: typeof row.interned === 'number' ? row.interned : undefined }, blobs);
  } catch (error) {
    // Not JSON, or a blob it refers to is missing (or the blobs table is): say which.
    return { seq, unreadable: error instanceof SyntaxError ? 'its data is not JSON' : (error as Error).message };
  }
  const text = row as Record<(typeof TEXT_COLUMNS)[number], string>;
  return { seq, time: text.time, run: text.run, kind: text.kind, actor: text.actor, data, prev: text.prev, hash: text.hash };
}
