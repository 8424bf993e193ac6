import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTIONS } from '../../src/actions/registry.js';
import { parseAlerts } from '../../src/alert/intake.js';
import { beginRun } from '../../src/engine/machine-steps.js';
import { buildPlan } from '../../src/plan/plan.js';
import { compilePlaybook } from '../../src/playbook/compile.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { gatedPlaybook, hostName, kibanaBody, serviceConfig } from '../unit/server/service.js';

const config = serviceConfig(2);

/** A new store holding `count` runs of the gated playbook at their first state, one a host (web-000 …), each alert's uuid its index repeated. */
export async function storeWithRuns(count: number) {
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
