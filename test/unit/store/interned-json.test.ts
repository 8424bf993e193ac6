import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/store/database.js';
import { InternedJson } from '../../../src/store/interned-json.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';

const storeFile = () => join(mkdtempSync(join(tmpdir(), 'soar-interned-')), 'soar.db');
const script = `#!/bin/sh\n${'echo "a long remote script"\n'.repeat(200)}`;

describe('InternedJson', () => {
  it('stores a long string once, however many values carry it, and reads it back after a reopen', () => {
    const file = storeFile();
    const db = openDatabase(file);
    const json = new InternedJson(db);
    const texts = db.transaction(() => [1, 2, 3].map((run) => json.stringify({ run, steps: [{ argv: ['sh', '-c', script, 'soar-triage', 'x.service'] }] })))();
    for (const text of texts) expect(text.length).toBeLessThan(200);
    expect(db.prepare('SELECT COUNT(*) AS n FROM blobs').get()).toEqual({ n: 1 });
    db.close();
    const reopened = openDatabase(file);
    expect(new InternedJson(reopened).parse(texts[2]!)).toEqual({ run: 3, steps: [{ argv: ['sh', '-c', script, 'soar-triage', 'x.service'] }] });
    reopened.close();
  });

  it('writes the blob again after a transaction that first wrote it rolled back', () => {
    const db = openDatabase(storeFile());
    const json = new InternedJson(db);
    expect(() =>
      db.transaction(() => {
        json.stringify({ script });
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    const text = db.transaction(() => json.stringify({ script }))();
    expect(new InternedJson(db).parse(text)).toEqual({ script });
  });

  it('keeps strings that start with NUL apart from references', () => {
    const db = openDatabase(storeFile());
    const json = new InternedJson(db);
    const hostile = { a: '\0b' + 'f'.repeat(64), b: '\0', c: '\0\0x', d: ['\0b'] };
    expect(json.parse(db.transaction(() => json.stringify(hostile))())).toEqual(hostile);
  });

  it('round-trips any JSON value', () => {
    const db = openDatabase(storeFile());
    const json = new InternedJson(db);
    const long = fc.string({ minLength: 1024, maxLength: 1500 });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), long, (value, text) => {
        const wrapped = { value, text, also: [text, `\0${text}`] };
        expect(json.parse(db.transaction(() => json.stringify(wrapped))())).toEqual(JSON.parse(JSON.stringify(wrapped)));
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('says so when a stored value refers to a blob the store does not hold', () => {
    const db = openDatabase(storeFile());
    expect(() => new InternedJson(db).parse(JSON.stringify({ plan: `\0b${'0'.repeat(64)}` }))).toThrow(/refers to blob 0{64}/);
  });
});

describe("InternedJson in the store's transactions", () => {
  const recordScript = (store: SqliteStore, run: string, text = script) => store.appendAudit({ run, kind: 'test.script', actor: 'test', data: { text } });
  const blobCount = (store: SqliteStore) => (store.db.prepare('SELECT COUNT(*) AS n FROM blobs').get() as { n: number }).n;
  const rollBack = (work: () => void) => () => {
    work();
    throw new Error('rolled back');
  };

  it('writes a blob again when the savepoint that first wrote it rolled back, though the transaction around it committed', () => {
    const store = new SqliteStore(storeFile());
    store.transaction(() => {
      expect(() => store.transaction(rollBack(() => recordScript(store, 'a')))).toThrow('rolled back');
      recordScript(store, 'b', 'a short one');
    });
    store.transaction(() => recordScript(store, 'c'));
    expect(blobCount(store)).toBe(1);
    store.close();
  });

  it('writes a blob again when the transaction that first wrote it rolled back, whatever committed since', () => {
    const store = new SqliteStore(storeFile());
    expect(() => store.transaction(rollBack(() => recordScript(store, 'a')))).toThrow('rolled back');
    store.transaction(() => recordScript(store, 'b', 'a short one'));
    store.transaction(() => recordScript(store, 'c'));
    expect(blobCount(store)).toBe(1);
    store.close();
  });

  it('looks a blob up no more once a transaction holding it has committed', () => {
    const store = new SqliteStore(storeFile());
    store.transaction(() => recordScript(store, 'a'));
    // Deleted behind the store's back (the trigger dropped): a lookup would write it again; none is made.
    store.db.exec('DROP TRIGGER blobs_no_delete; DELETE FROM blobs');
    store.transaction(() => recordScript(store, 'b'));
    expect(blobCount(store)).toBe(0);
    store.close();
  });
});
