import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { beginRun } from '../../../src/engine/machine-steps.js';
import { Runtime, type ProgressEvent } from '../../../src/engine/runtime.js';
import { buildPlan, type Plan } from '../../../src/plan/plan.js';
import { compilePlaybook } from '../../../src/playbook/compile.js';
import type { Playbook } from '../../../src/playbook/load.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { gatedPlaybook, hostName, kibanaBody, noHosts, serviceConfig } from '../server/service.js';

// Asking for an approval only writes to the store: it is done in the transaction of the transition
// that asks, so a run reaching a gate costs one commit. Real store, no host.
const config = serviceConfig(1);
let store: SqliteStore;
let playbook: Playbook;
let progress: ProgressEvent[];
let runtime: Runtime;

const planFor = (uuid: string): Plan => buildPlan({ alert: parseAlerts(kibanaBody([{ uuid: uuid.repeat(32), host: hostName(0) }]))[0]!, playbook, config, actions: ACTIONS });
const kinds = (run: string) => store.auditRecords(run).map((record) => record.kind);
const approvalsAnnounced = () => progress.filter((event) => event.kind === 'approval').map((event) => event.run);

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soar-requests-'));
  playbook = await gatedPlaybook(dir);
  store = new SqliteStore(join(dir, 'soar.db'));
  progress = [];
  runtime = new Runtime({ store, config, actions: ACTIONS, hosts: noHosts, progress: (event) => progress.push(event) });
  return () => store.close();
});

it('opens the gate in the transaction that starts the run, and announces it once driven', async () => {
  const plan = planFor('a1');
  runtime.start(plan, playbook);
  expect(store.approval(plan.runId, 'triage')).toMatchObject({ state: 'pending', stepHash: plan.steps[0]!.hash, count: 2 });
  expect(store.openIntents(plan.runId)).toEqual([]);
  expect(kinds(plan.runId)).toEqual(['run.started', 'approval.requested']);
  expect(store.nextDeadline(plan.runId)).toBeGreaterThan(Date.now());
  expect(approvalsAnnounced()).toEqual([]);

  expect(await runtime.drive(plan.runId)).toBe('waiting');
  expect(approvalsAnnounced()).toEqual([plan.runId]);
  expect(kinds(plan.runId)).toEqual(['run.started', 'approval.requested']);
});

it('carries out a request an older soar left as an intent', async () => {
  const plan = planFor('b2');
  const first = beginRun(compilePlaybook(playbook));
  expect(first.intents.map((intent) => intent.type)).toEqual(['requestApproval']);
  store.transaction(() => {
    store.insertRun({ id: plan.runId, alertId: plan.alert.id, playbookId: plan.playbook.id, host: plan.target.host.name, plan, planHash: plan.hash, playbook, snapshot: first.snapshot });
    store.addIntents(plan.runId, first.intents);
  });

  expect(await runtime.drive(plan.runId)).toBe('waiting');
  expect(store.approval(plan.runId, 'triage')).toMatchObject({ state: 'pending' });
  expect(store.openIntents(plan.runId)).toEqual([]);
  expect(kinds(plan.runId)).toEqual(['approval.requested']);
  expect(approvalsAnnounced()).toEqual([plan.runId]);
});

it('never announces a request whose transaction rolled back', async () => {
  const lost = planFor('c3');
  expect(() =>
    runtime.transaction(() => {
      runtime.start(lost, playbook);
      throw new Error('the disk is full');
    }),
  ).toThrow('the disk is full');
  expect(store.run(lost.runId)).toBeUndefined();

  const kept = planFor('d4');
  runtime.start(kept, playbook);
  await runtime.drive(kept.runId);
  expect(approvalsAnnounced()).toEqual([kept.runId]);
});

it('starts every run of a playbook from one first transition, frozen so that no run can change it for the others', () => {
  const machine = compilePlaybook(playbook);
  const first = beginRun(machine);
  expect(beginRun(machine)).toBe(first);
  expect(() => first.intents.push(first.intents[0]!)).toThrow(TypeError);
  expect(() => Object.assign(first.snapshot.context.attempts, { triage: 1 })).toThrow(TypeError);
  expect(first.snapshot.context.attempts).toEqual({});
});

describe('deadlines falling due together (a storm of approvals expiring)', () => {
  const later = () => new Date(Date.now() + 2 * 3_600_000);
  const gateState = (run: string) => store.approval(run, 'triage')!.state;
  const startRuns = (count: number) =>
    Array.from({ length: count }, (_, index) => {
      const plan = planFor(`e${index}`);
      runtime.start(plan, playbook);
      return plan.runId;
    });

  it('fires at most the limit asked for, and says how many it took', () => {
    const runs = startRuns(5);
    expect(runtime.fireDeadlines(later(), { limit: 2 })).toBe(2);
    expect(runs.filter((run) => gateState(run) === 'expired')).toHaveLength(2);
    expect(runtime.fireDeadlines(later(), { limit: 2 })).toBe(2);
    expect(runtime.fireDeadlines(later(), { limit: 2 })).toBe(1);
    expect(runtime.fireDeadlines(later(), { limit: 2 })).toBe(0);
    expect(runs.map(gateState)).toEqual(Array(5).fill('expired'));
    for (const run of runs) expect(kinds(run)).toEqual(['run.started', 'approval.requested', 'approval.expired', 'transition']);
  });

  it('rolls back only the deadline that fails: the others fire, and the failure is thrown once they are committed', () => {
    const [first, broken, last] = startRuns(3) as [string, string, string];
    const setSnapshot = store.db.prepare('UPDATE runs SET snapshot = ? WHERE id = ?');
    const { snapshot } = store.db.prepare('SELECT snapshot FROM runs WHERE id = ?').get(broken) as { snapshot: string };
    setSnapshot.run('{"truncated', broken);
    expect(() => runtime.fireDeadlines(later())).toThrow(SyntaxError);
    expect([first, broken, last].map(gateState)).toEqual(['expired', 'pending', 'expired']);
    expect(kinds(broken)).toEqual(['run.started', 'approval.requested']);
    expect(store.dueDeadlines(later()).map((deadline) => deadline.run)).toEqual([broken]);
    // The failed one stays due: once its run can be read again, the next firing takes it.
    setSnapshot.run(snapshot, broken);
    expect(runtime.fireDeadlines(later())).toBe(1);
    expect(gateState(broken)).toBe('expired');
  });
});
