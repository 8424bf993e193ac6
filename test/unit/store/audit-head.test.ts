import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditHeadWriter, auditHeadFile, readAuditHead } from '../../../src/audit/head.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { until } from '../../support/until.js';

const newStore = () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'soar-head-')), 'soar.db'));
const commitRecord = (store: SqliteStore, run: string) => store.transaction(() => store.appendAudit({ run, kind: 'test.record', actor: 'test', data: {} }));
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const headNames = (store: SqliteStore, record: { seq: number }) => until(`the head naming record ${record.seq}`, () => readAuditHead(store.file)?.seq === record.seq);

describe('the audit head of a SqliteStore', () => {
  it('is written once the turn of commits ends (and the sync of the head before it), naming the last; never ahead of the store', async () => {
    const store = newStore();
    const first = commitRecord(store, 'a');
    await nextTurn();
    expect(readAuditHead(store.file)).toMatchObject({ seq: first.seq, hash: first.hash });
    commitRecord(store, 'b');
    const last = commitRecord(store, 'c');
    // Within the turn the head still names the first record: behind the store, which the verifier allows.
    expect(readAuditHead(store.file)?.seq).toBe(first.seq);
    await headNames(store, last);
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
    store.close();
  });

  it('is written by close() when a commit is still waiting for it', () => {
    const store = newStore();
    const last = commitRecord(store, 'a');
    store.close();
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
  });

  it('is written by close() when it waits for the sync of the head before it', async () => {
    const store = newStore();
    commitRecord(store, 'a');
    // The turn's head is written and its sync under way (its callback cannot run before the loop polls again).
    await nextTurn();
    const last = commitRecord(store, 'b');
    store.close();
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
  });

  it('fails the next transaction when it could not be written', async () => {
    const store = newStore();
    commitRecord(store, 'a');
    await nextTurn();
    // A directory where the head goes: opening it for writing fails (even for root).
    rmSync(auditHeadFile(store.file));
    mkdirSync(join(auditHeadFile(store.file), 'blocker'), { recursive: true });
    commitRecord(store, 'b');
    const failure = await until('the failed head write', () => {
      try {
        store.transaction(() => undefined);
        return false;
      } catch (error) {
        return error;
      }
    });
    expect(String(failure)).toMatch(/EISDIR|directory/i);
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
    await headNames(store, last);
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
    store.close();
  });

  it('is judged by its first bytes when someone has made the file huge: refused, never read whole', () => {
    const first = newStore();
    commitRecord(first, 'a');
    first.close();
    // 3 GiB (sparse): more than Node reads into one buffer, so reading it whole would fail outright.
    truncateSync(auditHeadFile(first.file), 3 * 2 ** 30);
    expect(() => readAuditHead(first.file)).toThrow(expect.objectContaining({ code: 'AUDIT_HEAD_INVALID' }));
    // A store opened over it still writes its head (its writer reads the slots to choose one).
    const store = new SqliteStore(first.file);
    const last = commitRecord(store, 'b');
    store.close();
    truncateSync(auditHeadFile(store.file), 512);
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
  });
});

describe('readAuditHead', () => {
  it('refuses a FIFO in place of the head file instead of waiting for a writer', () => {
    const store = join(mkdtempSync(join(tmpdir(), 'soar-head-')), 'soar.db');
    execFileSync('mkfifo', [auditHeadFile(store)]);
    expect(() => readAuditHead(store)).toThrow(expect.objectContaining({ code: 'AUDIT_HEAD_INVALID' }));
  });
});

describe('AuditHeadWriter', () => {
  it('reports a head that waited for the sync before it and then could not be written', async () => {
    const store = join(mkdtempSync(join(tmpdir(), 'soar-head-')), 'soar.db');
    const writer = new AuditHeadWriter(store);
    writer.write({ seq: 1, hash: 'a'.repeat(64) });
    // Asked for while the first one's sync is under way: it waits, and finds a directory in its place.
    writer.write({ seq: 2, hash: 'b'.repeat(64) });
    rmSync(auditHeadFile(store));
    mkdirSync(auditHeadFile(store));
    const failure = await until('the failed write', () => writer.takeFailure());
    expect(String(failure)).toMatch(/EISDIR|directory/i);
    expect(writer.takeFailure()).toBeUndefined();
    writer.close();
  });
});
