import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { chainRecord, type AuditEntry, type AuditRecord } from './record.js';

/** Where a run writes its audit records, each before the thing it describes is acted on. */
export interface Journal {
  append(entry: AuditEntry): AuditRecord;
  records(): readonly AuditRecord[];
  close(): void;
}

/**
 * An append-only JSON Lines file, one hash-chained record a line, flushed to disk (fsync)
 * before append returns: a crash loses no record that soar acted upon.
 */
export class FileJournal implements Journal {
  readonly #fd: number;
  readonly #records: AuditRecord[];
  readonly #key: Buffer | undefined;

  constructor(readonly file: string, options: { key?: Buffer } = {}) {
    this.#key = options.key;
    let existing = '';
    try {
      existing = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.#records = existing
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AuditRecord);
    this.#fd = openSync(file, 'a', 0o600);
  }

  append(entry: AuditEntry): AuditRecord {
    const record = chainRecord(this.#records.at(-1), entry, new Date(), this.#key);
    writeSync(this.#fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.#fd);
    this.#records.push(record);
    return record;
  }

  records(): readonly AuditRecord[] {
    return this.#records;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
