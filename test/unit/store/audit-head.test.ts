import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditHeadFile, readAuditHead } from '../../../src/audit/head.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';

const newStore = () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'soar-head-')), 'soar.db'));
const commitRecord = (store: SqliteStore, run: string) => store.transaction(() => store.appendAudit({ run, kind: 'test.record', actor: 'test', data: {} }));
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('the audit head of a SqliteStore', () => {
  it('is written once the turn of commits ends, naming the last; never ahead of the store', async () => {
    const store = newStore();
    const first = commitRecord(store, 'a');
    await nextTurn();
    expect(readAuditHead(store.file)).toMatchObject({ seq: first.seq, hash: first.hash });
    commitRecord(store, 'b');
    const last = commitRecord(store, 'c');
    // Within the turn the head still names the first record: behind the store, which the verifier allows.
    expect(readAuditHead(store.file)?.seq).toBe(first.seq);
    await nextTurn();
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
  });

  it('is written by close() when a commit is still waiting for it', () => {
    const store = newStore();
    const last = commitRecord(store, 'a');
    store.close();
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
  });

  it('fails the next transaction when it could not be written', async () => {
    const store = newStore();
    commitRecord(store, 'a');
    await nextTurn();
    // A directory where the head goes: the rename over it fails (even for root).
    rmSync(auditHeadFile(store.file));
    mkdirSync(join(auditHeadFile(store.file), 'blocker'), { recursive: true });
    commitRecord(store, 'b');
    await nextTurn();
    expect(() => commitRecord(store, 'c')).toThrow(/EISDIR|ENOTEMPTY|directory/i);
    expect(store.auditRecords().map((record) => record.run)).toEqual(['a', 'b']);
  });

  it('outlives a write cut short: its two slots take turns, and a spoiled one is passed over', async () => {
    const store = newStore();
    const first = commitRecord(store, 'a');
    await nextTurn();
    commitRecord(store, 'b');
    await nextTurn();
    store.close();
    const bytes = readFileSync(auditHeadFile(store.file));
    expect(bytes.length).toBe(512);
    // A crash in the middle of the second write: half its slot written.
    const spoiled = Buffer.from(bytes);
    spoiled.fill(0x20, 256 + 20, 512);
    writeFileSync(auditHeadFile(store.file), spoiled);
    expect(readAuditHead(store.file)).toMatchObject({ seq: first.seq, hash: first.hash });
    // The store opened again writes over the spoiled slot first: the one holding the newest head is kept.
    const reopened = new SqliteStore(store.file);
    const third = commitRecord(reopened, 'c');
    await nextTurn();
    expect(readFileSync(auditHeadFile(store.file)).subarray(0, 256)).toEqual(bytes.subarray(0, 256));
    expect(readAuditHead(store.file)).toMatchObject({ seq: third.seq, hash: third.hash });
    reopened.close();
  });

  it('keeps a head written before slots (one line) until the first new one is whole', async () => {
    const earlier = newStore();
    const first = commitRecord(earlier, 'a');
    earlier.close();
    const line = `${JSON.stringify({ seq: first.seq, hash: first.hash })}\n`;
    writeFileSync(auditHeadFile(earlier.file), line);
    const store = new SqliteStore(earlier.file);
    const second = commitRecord(store, 'b');
    await nextTurn();
    expect(readFileSync(auditHeadFile(store.file), 'utf8').startsWith(line)).toBe(true);
    expect(readAuditHead(store.file)).toMatchObject({ seq: second.seq, hash: second.hash });
    store.close();
  });

  it('is written again when its file is deleted while the store is open', async () => {
    const store = newStore();
    commitRecord(store, 'a');
    await nextTurn();
    rmSync(auditHeadFile(store.file));
    const last = commitRecord(store, 'b');
    await nextTurn();
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
    store.close();
  });
});
