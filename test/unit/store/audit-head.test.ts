import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
});
