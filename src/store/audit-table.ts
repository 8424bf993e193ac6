import { canonicalJson } from '../canonical-json.js';
import { chainRecord, type AuditEntry, type AuditRecord } from '../audit/record.js';
import type { SqliteDatabase } from './database.js';

interface AuditRow {
  seq: number;
  time: string;
  run: string;
  kind: string;
  actor: string;
  data: string;
  prev: string;
  hash: string;
}

const toRecord = (row: AuditRow): AuditRecord => ({ ...row, data: JSON.parse(row.data) as unknown });

/**
 * The audit table: appends chain each record to the last one (inside the caller's transaction,
 * so a record commits together with the state change it describes).
 */
export class AuditTable {
  readonly #key: Buffer | undefined;
  readonly #insert;
  readonly #last;
  readonly #all;
  readonly #ofRun;

  constructor(db: SqliteDatabase, key?: Buffer) {
    this.#key = key;
    this.#insert = db.prepare('INSERT INTO audit (seq, time, run, kind, actor, data, prev, hash) VALUES (@seq, @time, @run, @kind, @actor, @data, @prev, @hash)');
    this.#last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.#all = db.prepare('SELECT * FROM audit ORDER BY seq');
    this.#ofRun = db.prepare('SELECT * FROM audit WHERE run = ? ORDER BY seq');
  }

  append(entry: AuditEntry): AuditRecord {
    const last = this.#last.get() as Pick<AuditRow, 'seq' | 'hash'> | undefined;
    // Stored and hashed in canonical form, so the record read back hashes the same.
    const text = canonicalJson(entry.data ?? null);
    const record = chainRecord(last, { ...entry, data: JSON.parse(text) as unknown }, new Date(), this.#key);
    this.#insert.run({ ...record, data: text });
    return record;
  }

  /** Every record, or one run's, in sequence order. */
  records(run?: string): AuditRecord[] {
    const rows = run === undefined ? this.#all.all() : this.#ofRun.all(run);
    return (rows as AuditRow[]).map(toRecord);
  }
}
