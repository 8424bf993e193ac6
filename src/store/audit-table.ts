import { canonicalValue } from '../canonical-json.js';
import { chainRecord, type AuditEntry, type AuditRecord } from '../audit/record.js';
import type { SqliteDatabase } from './database.js';
import type { InternedJson } from './interned-json.js';

/** An audit row as stored: `data` is interned JSON when `interned` is 1, plain JSON in rows from before. */
export interface AuditRow {
  seq: number;
  time: string;
  run: string;
  kind: string;
  actor: string;
  data: string;
  prev: string;
  hash: string;
  interned?: number;
}

/** A row's data as it was hashed: its long strings read back from blobs when it keeps them there. */
export function auditRowData(row: Pick<AuditRow, 'data' | 'interned'>, json: () => InternedJson): unknown {
  return row.interned === 1 ? json().parse(row.data) : (JSON.parse(row.data) as unknown);
}

/**
 * The audit table: appends chain each record to the last one (inside the caller's transaction,
 * so a record commits together with the state change it describes). The data's long strings (the
 * remote scripts every approval request and command record names) are stored once, in blobs:
 * the record's hash covers the whole text all the same.
 */
export class AuditTable {
  readonly #json: InternedJson;
  readonly #key: Buffer | undefined;
  readonly #insert;
  readonly #last;
  readonly #all;
  readonly #ofRun;

  constructor(db: SqliteDatabase, json: InternedJson, key?: Buffer) {
    this.#json = json;
    this.#key = key;
    this.#insert = db.prepare('INSERT INTO audit (seq, time, run, kind, actor, data, prev, hash, interned) VALUES (@seq, @time, @run, @kind, @actor, @data, @prev, @hash, 1)');
    this.#last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.#all = db.prepare('SELECT * FROM audit ORDER BY seq');
    this.#ofRun = db.prepare('SELECT * FROM audit WHERE run = ? ORDER BY seq');
  }

  append(entry: AuditEntry): AuditRecord {
    const last = this.#last.get() as Pick<AuditRow, 'seq' | 'hash'> | undefined;
    // Hashed in canonical form, so the record read back hashes the same.
    const data = canonicalValue(entry.data ?? null);
    const record = chainRecord(last, { ...entry, data }, new Date(), this.#key);
    this.#insert.run({ ...record, data: this.#json.stringify(data) });
    return record;
  }

  /** Every record, or one run's, in sequence order. */
  records(run?: string): AuditRecord[] {
    const rows = run === undefined ? this.#all.all() : this.#ofRun.all(run);
    return (rows as AuditRow[]).map((row) => {
      const { seq, time, run: runId, kind, actor, prev, hash } = row;
      return { seq, time, run: runId, kind, actor, data: auditRowData(row, () => this.#json), prev, hash };
    });
  }
}
