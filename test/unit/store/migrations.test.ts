import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { chainRecord, type AuditRecord } from '../../../src/audit/record.js';
import { readStoredTrail } from '../../../src/audit/stored-trail.js';
import { verifyChain } from '../../../src/audit/verify.js';
import { canonicalJson } from '../../../src/canonical-json.js';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';

/** Where each schema change begins in MIGRATIONS. */
const HOST_LEASES = 3;
const INTERNED_AUDIT = 4;
const JOINED_ALERTS = 6;

/** A store as an earlier soar left it: the migrations before `version` applied, nothing after. */
function storeAt(version: number): { file: string; db: Database.Database } {
  const file = join(mkdtempSync(join(tmpdir(), 'soar-migrations-')), 'soar.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  MIGRATIONS.slice(0, version).forEach((sql) => db.exec(sql));
  db.pragma(`user_version = ${version}`);
  return { file, db };
}

it('a store from before host leases keeps the lease of the run it holds, and takes host leases after the upgrade', () => {
  const { file, db: old } = storeAt(HOST_LEASES);
  old.prepare(`INSERT INTO runs (id, alert_id, playbook_id, host, plan, plan_hash, playbook, snapshot, status, created_at, updated_at) VALUES ('run-1', 'a', 'p', 'web-01', '{}', 'h', '{}', '{}', 'active', 't', 't')`).run();
  old.prepare(`INSERT INTO leases (run, owner, hostname, pid, expires_at) VALUES ('run-1', 'other', 'soc-1', 42, 9999999999999)`).run();
  old.close();

  const store = new SqliteStore(file);
  try {
    expect(store.leaseHolder('run-1')).toEqual({ run: 'run-1', owner: 'other', hostname: 'soc-1', pid: 42, expiresAt: 9999999999999 });
    expect(store.takeLease({ run: 'host:web-01', owner: 'me', hostname: 'soc-2', pid: 7, expiresAt: Date.now() + 30_000 }, () => false)).toBeUndefined();
    expect(store.leaseHolder('host:web-01')).toMatchObject({ owner: 'me' });
  } finally {
    store.close();
  }
});

it('a trail from before interned audit data reads back as it was written, and the chain goes on across the upgrade', () => {
  const { file, db: old } = storeAt(INTERNED_AUDIT);
  // Inline data as the earlier soar stored it: a long script, and strings that start with NUL.
  const data = { argv: ['sh', '-c', `echo soar\n${'true\n'.repeat(400)}`], hostile: ['\0b' + 'f'.repeat(64), '\0'] };
  const first = chainRecord(undefined, { run: 'run-1', kind: 'command.sent', actor: 'soar', data }, new Date());
  old.prepare('INSERT INTO audit (seq, time, run, kind, actor, data, prev, hash) VALUES (@seq, @time, @run, @kind, @actor, @data, @prev, @hash)').run({ ...first, data: canonicalJson(data) });
  old.close();
  // A reviewer may read it before any soar opens (and migrates) it.
  expect(verifyChain(readStoredTrail(file).records)).toMatchObject({ ok: true, count: 1 });

  const store = new SqliteStore(file);
  let second: AuditRecord;
  try {
    expect(store.auditRecords()).toEqual([first]);
    second = store.transaction(() => store.appendAudit({ run: 'run-1', kind: 'command.sent', actor: 'soar', data }));
    expect(store.auditRecords()).toEqual([first, second]);
    const stored = store.db.prepare('SELECT seq, interned, length(data) AS bytes FROM audit ORDER BY seq').all();
    expect(stored).toEqual([
      { seq: 1, interned: 0, bytes: canonicalJson(data).length },
      { seq: 2, interned: 1, bytes: expect.any(Number) },
    ]);
    expect((stored[1] as { bytes: number }).bytes).toBeLessThan(300);
  } finally {
    store.close();
  }
  const { records, head } = readStoredTrail(file);
  expect(records).toEqual([first, second]);
  expect(verifyChain(records, { head: head ?? null })).toMatchObject({ ok: true, count: 2, anchored: true });
});

it('a store from before joined_alerts keeps every alert that joined a run, read from the trail, both as stored before and interned', () => {
  const { file, db: old } = storeAt(JOINED_ALERTS);
  const insertRun = old.prepare(`INSERT INTO runs (id, alert_id, playbook_id, host, plan, plan_hash, playbook, snapshot, status, created_at, updated_at) VALUES (?, ?, 'p', 'web-01', '{}', 'h', '{}', '{}', 'done', 't', 't')`);
  insertRun.run('run-1', 'a1');
  insertRun.run('run-2', 'a3');
  const insertRecord = old.prepare('INSERT INTO audit (seq, time, run, kind, actor, data, prev, hash, interned) VALUES (@seq, @time, @run, @kind, @actor, @data, @prev, @hash, @interned)');
  let last: AuditRecord | undefined;
  for (const [run, kind, alert, interned] of [['run-1', 'run.started', 'a1', 0], ['run-1', 'alert.joined', 'a2', 0], ['run-2', 'run.started', 'a3', 1], ['run-2', 'alert.joined', 'a4', 1]] as const) {
    last = chainRecord(last, { run, kind, actor: 'soar', data: { alert } }, new Date());
    insertRecord.run({ ...last, data: canonicalJson({ alert }), interned });
  }
  old.close();

  const store = new SqliteStore(file);
  try {
    expect(['a1', 'a2', 'a3', 'a4'].map((alert) => store.joinedRun(alert))).toEqual([undefined, 'run-1', undefined, 'run-2']);
    store.transaction(() => store.addJoinedAlert('a5', 'run-2'));
    expect(store.joinedRun('a5')).toBe('run-2');
  } finally {
    store.close();
  }
});
