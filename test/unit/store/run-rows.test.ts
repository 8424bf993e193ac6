import { expect, it } from 'vitest';
import { storeWithRuns } from '../../support/store-with-runs.js';

it('stores the playbook its runs share once, and gives each run it back whole', async () => {
  const { store, playbook, runIds } = await storeWithRuns(2);
  try {
    const rows = store.db.prepare('SELECT length(playbook) AS bytes FROM runs').all() as Array<{ bytes: number }>;
    expect(rows).toHaveLength(2);
    for (const { bytes } of rows) expect(bytes).toBeLessThan(100);
    expect(JSON.stringify(playbook).length).toBeGreaterThan(1024);
    for (const runId of runIds) expect(store.run(runId)!.playbook).toEqual(playbook);
  } finally {
    store.close();
  }
});

it('gives every run of one stored playbook the same frozen object, so the runtime compiles its machine once', async () => {
  const { store, runIds } = await storeWithRuns(2);
  try {
    const [first, second] = runIds.map((runId) => store.run(runId)!.playbook);
    expect(first).toBe(second);
    expect(first).toBe(store.run(runIds[0]!)!.playbook);
    expect(Object.isFrozen(first!.steps[0])).toBe(true);
  } finally {
    store.close();
  }
});

it('reads the playbook of a run stored with the playbook inline, as soar did before', async () => {
  const { store, playbook, runIds } = await storeWithRuns(1);
  try {
    store.db.prepare('UPDATE runs SET playbook = ? WHERE id = ?').run(JSON.stringify(playbook), runIds[0]);
    expect(store.run(runIds[0]!)!.playbook).toEqual(playbook);
  } finally {
    store.close();
  }
});

it('lists runs in one query: the newest first cut by a limit, in the order they started, with unit, state and pending gates', async () => {
  const { store, runIds } = await storeWithRuns(3);
  try {
    store.transaction(() => {
      store.openApproval({ run: runIds[2]!, step: 'triage', stepHash: 'a'.repeat(64), count: 1, roles: ['responder'], expiresAt: new Date(Date.now() + 60_000).toISOString() });
      store.saveSnapshot(runIds[0]!, { ...store.run(runIds[0]!)!.snapshot, value: 'done', status: 'done' }, 'done');
    });
    const all = store.runSummaries();
    expect(all.total).toBe(3);
    expect(all.runs.map((run) => run.run)).toEqual(runIds);
    expect(all.runs[2]).toEqual({ run: runIds[2], status: 'active', host: 'web-002', unit: 'c3pool_miner.service', alert: expect.stringMatching(/^2+$/), state: { triage: 'approval' }, created: expect.any(String), pending: ['triage'] });
    expect(all.runs[0]).toMatchObject({ status: 'done', state: 'done', pending: [] });
    expect(store.runSummaries({ limit: 1 })).toEqual({ runs: [all.runs[2]], total: 3 });
    expect(store.runSummaries({ status: 'active', limit: 5 })).toEqual({ runs: all.runs.slice(1), total: 2 });
    expect(store.runSummaries({ status: 'failed' })).toEqual({ runs: [], total: 0 });
  } finally {
    store.close();
  }
});

it('lists a run whose plan was stored whole, as soar did before blobs', async () => {
  const { store, runIds } = await storeWithRuns(1);
  try {
    const plan = store.run(runIds[0]!)!.plan;
    store.db.prepare('UPDATE runs SET plan = ? WHERE id = ?').run(JSON.stringify(plan), runIds[0]);
    expect(store.runSummaries().runs[0]).toMatchObject({ run: runIds[0], unit: plan.target.unit });
  } finally {
    store.close();
  }
});
