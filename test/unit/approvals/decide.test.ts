import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { ApprovalRefusedError } from '../../../src/approvals/approval.js';
import { recordDecision, type Decision } from '../../../src/approvals/decide.js';
import { DEFAULT_PLAYBOOK } from '../../../src/cli/defaults.js';
import { defaultConfig, type Config } from '../../../src/config/config.js';
import { Runtime } from '../../../src/engine/runtime.js';
import { buildPlan, type Plan } from '../../../src/plan/plan.js';
import { loadPlaybook, type Playbook } from '../../../src/playbook/load.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import type { Store } from '../../../src/store/store.js';
import { exampleHit } from '../alert/example.js';

/** The mining playbook with a four-eyes gate (2 of responder or lead) in front of triage. */
async function fourEyesPlaybook(dir: string): Promise<Playbook> {
  const file = join(dir, 'four-eyes.yaml');
  const text = readFileSync(DEFAULT_PLAYBOOK, 'utf8').replace('    action: triage\n', '    action: triage\n    approval: { count: 2, roles: [responder, lead], expires: 1h }\n');
  writeFileSync(file, text);
  return loadPlaybook(file, ACTIONS);
}

const config: Config = {
  ...defaultConfig(),
  hosts: { 'web-01': { address: '198.18.0.2', port: 22, user: 'root', max_sessions: 4, connect_timeout: 10_000 } },
  approvers: { alice: { roles: ['responder'] }, bob: { roles: ['lead'] }, carol: { roles: ['observer'] } },
};

/** Gates need no host: nothing may be sent anywhere while a run waits for its decision. */
const noHosts = {
  transport: () => {
    throw new Error('no host may be contacted while a gate is closed');
  },
  probe: async () => {
    throw new Error('no host may be contacted while a gate is closed');
  },
};

let store: Store;
let runtime: Runtime;
let plan: Plan;
let decide: (analyst: string, overrides?: Partial<Decision>) => ReturnType<typeof recordDecision>;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soar-decide-'));
  const playbook = await fourEyesPlaybook(dir);
  plan = buildPlan({ alert: parseAlerts(exampleHit())[0]!, playbook, config, actions: ACTIONS });
  store = new SqliteStore(join(dir, 'soar.db'));
  runtime = new Runtime({ store, config, actions: ACTIONS, hosts: noHosts });
  runtime.start(plan, playbook);
  expect(await runtime.drive(plan.runId)).toBe('waiting');
  const triage = plan.steps[0]!;
  decide = (analyst, overrides = {}) =>
    recordDecision(runtime, config, { run: plan.runId, step: 'triage', analyst, decision: 'approve', reason: 'looked at it', stepHash: triage.hash, ...overrides });
});

const refusal = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ApprovalRefusedError);
    return (error as Error).message;
  }
  throw new Error('the decision was not refused');
};

const state = () => runtime.run(plan.runId).snapshot.value;
const auditKinds = () => store.auditRecords(plan.runId).map((record) => `${record.kind}:${record.actor}`);

describe('a four-eyes gate', () => {
  it('opens only with two different eligible approvers, each bound to the step hash', () => {
    expect(decide('alice')).toBe('counted');
    expect(state()).toEqual({ triage: 'approval' });
    expect(refusal(() => decide('alice'))).toMatch(/alice has already decided .*one person counts once/);
    expect(decide('bob')).toBe('approved');
    expect(state()).toEqual({ triage: 'running' });
    expect(auditKinds()).toEqual(expect.arrayContaining(['approval.granted:alice', 'approval.refused:alice', 'approval.granted:bob']));
  });

  it('refuses a decision about other commands than the plan (changed or wrong hash)', () => {
    expect(refusal(() => decide('alice', { stepHash: '0'.repeat(64) }))).toMatch(/plan changed or the hash is wrong/);
    expect(store.votes(store.approval(plan.runId, 'triage')!.id)).toEqual([]);
  });

  it('refuses analysts who are not approvers or lack the role', () => {
    expect(refusal(() => decide('mallory'))).toMatch(/mallory is not an approver/);
    expect(refusal(() => decide('carol'))).toMatch(/carol \(roles observer\) may not approve step triage/);
    expect(state()).toEqual({ triage: 'approval' });
  });

  it('refuses unknown gates, unknown runs, and decisions after the gate was decided', () => {
    expect(refusal(() => decide('alice', { step: 'kill' }))).toMatch(/has no approval request for step kill/);
    expect(() => decide('alice', { run: 'run-0000000000000000' })).toThrow(/no run run-0000000000000000/);
    expect(decide('alice', { decision: 'deny', reason: 'not convinced' })).toBe('denied');
    expect(refusal(() => decide('bob'))).toMatch(/already denied: this decision comes too late or twice/);
    expect(runtime.run(plan.runId).snapshot.context.escalation).toMatchObject({ reason: 'approval_denied', step: 'triage' });
  });

  it('refuses a decision after the gate expired, and the stored deadline escalates the run', () => {
    const later = new Date(Date.now() + 2 * 3_600_000);
    expect(refusal(() => recordDecision(runtime, config, { run: plan.runId, step: 'triage', analyst: 'alice', decision: 'approve', reason: 'late', stepHash: plan.steps[0]!.hash }, later))).toMatch(/expired at/);
    runtime.fireDeadlines(later);
    expect(store.approval(plan.runId, 'triage')!.state).toBe('expired');
    expect(runtime.run(plan.runId).snapshot.context.escalation).toMatchObject({ reason: 'approval_expired', step: 'triage' });
  });
});
