import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { beginRun } from '../../../src/engine/machine-steps.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { compilePlaybook } from '../../../src/playbook/compile.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { gatedPlaybook, hostName, kibanaBody, serviceConfig } from '../server/service.js';

const config = serviceConfig(2);

async function storeWithRuns(count: number) {
  const dir = mkdtempSync(join(tmpdir(), 'soar-run-rows-'));
  const playbook = await gatedPlaybook(dir);
  const store = new SqliteStore(join(dir, 'soar.db'));
  const { snapshot } = beginRun(compilePlaybook(playbook));
  const plans = Array.from({ length: count }, (_, index) => buildPlan({ alert: parseAlerts(kibanaBody([{ uuid: `${index}`.repeat(32), host: hostName(index) }]))[0]!, playbook, config, actions: ACTIONS }));
  store.transaction(() => {
    for (const plan of plans) store.insertRun({ id: plan.runId, alertId: plan.alert.id, playbookId: plan.playbook.id, host: plan.target.host.name, plan, planHash: plan.hash, playbook, snapshot });
  });
  return { store, playbook, runIds: plans.map((plan) => plan.runId) };
}

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
