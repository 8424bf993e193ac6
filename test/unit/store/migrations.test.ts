import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/store/migrations.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';

it('a store from before host leases keeps the lease of the run it holds, and takes host leases after the upgrade', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'soar-migrations-')), 'soar.db');
  // The store as the previous soar left it: every migration but the last, a run under a lease.
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  MIGRATIONS.slice(0, -1).forEach((sql) => old.exec(sql));
  old.pragma(`user_version = ${MIGRATIONS.length - 1}`);
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
