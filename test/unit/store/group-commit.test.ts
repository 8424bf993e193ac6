import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAuditHead } from '../../../src/audit/head.js';
import { GroupCommit } from '../../../src/store/group-commit.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';

const newStore = () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'soar-group-')), 'soar.db'));
/** The audit head is written at the end of the event loop's turn. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const record = (store: SqliteStore, run: string) => store.appendAudit({ run, kind: 'test.record', actor: 'test', data: { run } });

describe('GroupCommit', () => {
  it('commits the work submitted together in one transaction, anchors the head once, and settles after the commit', async () => {
    const store = newStore();
    const commits: number[] = [];
    const transaction = store.transaction.bind(store);
    store.transaction = <T>(work: () => T): T => {
      const outer = !store.db.inTransaction;
      const result = transaction(work);
      if (outer) commits.push(store.auditRecords().length);
      return result;
    };
    const group = new GroupCommit(store);
    const seqs = await Promise.all(['a', 'b', 'c'].map((run) => group.submit(() => record(store, run).seq)));
    expect(seqs).toEqual([1, 2, 3]);
    expect(commits).toEqual([3]);
    await nextTurn();
    expect(readAuditHead(store.file)?.seq).toBe(3);
  });

  it('rolls back only the work that threw; the head names the last record that committed', async () => {
    const store = newStore();
    const group = new GroupCommit(store);
    const outcomes = await Promise.allSettled([
      group.submit(() => record(store, 'kept-1').seq),
      group.submit(() => {
        record(store, 'lost');
        throw new Error('refused');
      }),
      group.submit(() => record(store, 'kept-2').seq),
      group.submit(() => {
        record(store, 'lost-last');
        throw new Error('refused too');
      }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(store.auditRecords().map((entry) => entry.run)).toEqual(['kept-1', 'kept-2']);
    const last = store.auditRecords().at(-1)!;
    await nextTurn();
    expect(readAuditHead(store.file)).toMatchObject({ seq: last.seq, hash: last.hash });
  });

  it('rejects every submission when the transaction itself cannot commit', async () => {
    const store = newStore();
    const group = new GroupCommit(store);
    store.close();
    const outcomes = await Promise.allSettled([group.submit(() => 1), group.submit(() => 2)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });
});
