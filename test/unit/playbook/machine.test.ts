import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { initialTransition, transition, type AnyStateNode } from 'xstate';
import { compilePlaybook, INTENT_TYPES, type PlaybookMachine, type RunEvent, type RunIntent } from '../../../src/playbook/compile.js';
import { loadPlaybook, type Playbook } from '../../../src/playbook/load.js';
import { TEST_ACTIONS } from './actions.js';

type Snapshot = ReturnType<typeof initialTransition<PlaybookMachine>>[0];

let playbook: Playbook;
let machine: PlaybookMachine;
beforeAll(async () => {
  playbook = await loadPlaybook('test/unit/playbook/fixtures/valid.yaml', TEST_ACTIONS);
  machine = compilePlaybook(playbook);
});

/** Intents as the runtime will store them: only type and params. */
function intentsOf(actions: readonly { type: string; params?: unknown }[]): RunIntent[] {
  return actions.map(({ type, params }) => ({ type, params }) as RunIntent);
}

/** Runs events through the pure functions only, collecting every intent in order. */
function walk(events: RunEvent[], from?: Snapshot): { snapshot: Snapshot; intents: RunIntent[] } {
  let [snapshot, actions] = from === undefined ? initialTransition(machine) : [from, []];
  const intents = intentsOf(actions);
  for (const event of events) {
    [snapshot, actions] = transition(machine, snapshot, event);
    intents.push(...intentsOf(actions));
  }
  return { snapshot, intents };
}

/** What a database holds, and what comes back out of it after a crash. */
function persistAndRestore(snapshot: Snapshot): Snapshot {
  const stored = JSON.stringify(machine.getPersistedSnapshot(snapshot));
  return machine.resolveState(JSON.parse(stored) as Parameters<PlaybookMachine['resolveState']>[0]);
}

const ok = (step: string, outcome: string): RunEvent => ({ type: 'STEP.OK', step, outcome });
const failed = (step: string, retryable: boolean, code = 'EXIT_1'): RunEvent => ({
  type: 'STEP.FAILED',
  step,
  error: { code, message: `${step} exited 1` },
  retryable,
});
const approve = (step: string): RunEvent => ({ type: 'APPROVE', step });
const run = (step: string, action: string, attempt: number, timeoutMs = 300_000): RunIntent => ({
  type: 'runStep',
  params: { step, action, attempt, timeoutMs },
});
const finished = (status: 'done' | 'aborted' | 'failed'): RunIntent => ({ type: 'runFinished', params: { status } });

const HAPPY: RunEvent[] = [
  ok('triage', 'malicious'),
  approve('isolate'),
  ok('isolate', 'isolated'),
  approve('kill-process'),
  ok('kill-process', 'killed'),
  ok('scan', 'clean'),
  ok('escalate', 'sent'),
];

describe('walking the compiled machine', () => {
  test('the happy path asks for each approval before running its step, then finishes done', () => {
    const { snapshot, intents } = walk(HAPPY);
    expect(intents).toEqual([
      run('triage', 'triage', 1, 120_000),
      { type: 'requestApproval', params: { step: 'isolate', count: 2, roles: ['responder', 'lead'], expiresInMs: 14_400_000 } },
      run('isolate', 'isolate', 1),
      { type: 'requestApproval', params: { step: 'kill-process', count: 1, roles: [], expiresInMs: 86_400_000 } },
      run('kill-process', 'kill', 1),
      run('scan', 'scan', 1),
      run('escalate', 'notify', 1),
      finished('done'),
    ]);
    expect(snapshot.status).toBe('done');
    expect(snapshot.value).toBe('done');
    expect(snapshot.context).toEqual({
      attempts: { triage: 1, isolate: 1, 'kill-process': 1, scan: 1, escalate: 1 },
      outcomes: { triage: 'malicious', isolate: 'isolated', 'kill-process': 'killed', scan: 'clean', escalate: 'sent' },
      failures: {},
    });
  });

  test('a gated step waits in its approval state, named after the step', () => {
    const { snapshot } = walk([ok('triage', 'malicious')]);
    expect(snapshot.value).toEqual({ isolate: 'approval' });
    expect(walk([approve('isolate')], snapshot).snapshot.value).toEqual({ isolate: 'running' });
  });

  test('an outcome branches: a false positive goes straight to escalation, not to isolation', () => {
    const { snapshot, intents } = walk([ok('triage', 'false_positive')]);
    expect(intents).toEqual([run('triage', 'triage', 1, 120_000), run('escalate', 'notify', 1)]);
    expect(snapshot.context.escalation).toBeUndefined();
  });

  test('an outcome the playbook does not list takes the default route', () => {
    expect(walk([ok('triage', 'unheard-of')]).snapshot.value).toEqual({ isolate: 'approval' });
  });

  test('a retryable failure backs off by backoff·factor^(attempt-1), then escalates when retries run out', () => {
    const { snapshot, intents } = walk([
      failed('triage', true),
      { type: 'RETRY.DUE', step: 'triage' },
      failed('triage', true),
      { type: 'RETRY.DUE', step: 'triage' },
      failed('triage', true, 'TIMEOUT'),
    ]);
    expect(intents).toEqual([
      run('triage', 'triage', 1, 120_000),
      { type: 'scheduleRetry', params: { step: 'triage', attempt: 2, delayMs: 5_000 } },
      run('triage', 'triage', 2, 120_000),
      { type: 'scheduleRetry', params: { step: 'triage', attempt: 3, delayMs: 15_000 } },
      run('triage', 'triage', 3, 120_000),
      run('escalate', 'notify', 1),
    ]);
    expect(snapshot.value).toEqual({ escalate: 'running' });
    expect(snapshot.context.escalation).toEqual({ reason: 'step_failed', step: 'triage', detail: 'TIMEOUT: triage exited 1' });
    expect(snapshot.context.failures.triage).toEqual({ code: 'TIMEOUT', message: 'triage exited 1' });
  });

  test('a failure that is not retryable escalates at once, retries left or not', () => {
    const { snapshot, intents } = walk([failed('triage', false)]);
    expect(intents).toEqual([run('triage', 'triage', 1, 120_000), run('escalate', 'notify', 1)]);
    expect(snapshot.context.escalation).toMatchObject({ reason: 'step_failed', step: 'triage' });
  });

  test('on_failure: continue takes the failed route and records the failure', () => {
    const { snapshot, intents } = walk([...HAPPY.slice(0, 4), failed('kill-process', false)]);
    expect(intents.at(-1)).toEqual(run('scan', 'scan', 1));
    expect(snapshot.context.outcomes['kill-process']).toBe('failed');
    expect(snapshot.context.failures['kill-process']).toEqual({ code: 'EXIT_1', message: 'kill-process exited 1' });
    expect(snapshot.context.escalation).toBeUndefined();
  });

  test('on_failure: abort ends the run aborted', () => {
    const { snapshot, intents } = walk([...HAPPY.slice(0, 5), failed('scan', true)]);
    expect(intents.at(-1)).toEqual(finished('aborted'));
    expect(snapshot.value).toBe('aborted');
    expect(snapshot.status).toBe('done');
  });

  test('a denial escalates with the analyst\'s reason and never runs the step', () => {
    const { snapshot, intents } = walk([ok('triage', 'malicious'), { type: 'DENY', step: 'isolate', reason: 'production database' }]);
    expect(intents.filter((intent) => intent.type === 'runStep').map((intent) => intent.params)).toEqual([
      { step: 'triage', action: 'triage', attempt: 1, timeoutMs: 120_000 },
      { step: 'escalate', action: 'notify', attempt: 1, timeoutMs: 300_000 },
    ]);
    expect(snapshot.context.escalation).toEqual({ reason: 'approval_denied', step: 'isolate', detail: 'production database' });
  });

  test('an expired approval escalates', () => {
    const { snapshot } = walk([ok('triage', 'malicious'), approve('isolate'), ok('isolate', 'isolated'), { type: 'APPROVAL.EXPIRED', step: 'kill-process' }]);
    expect(snapshot.value).toEqual({ escalate: 'running' });
    expect(snapshot.context.escalation).toEqual({ reason: 'approval_expired', step: 'kill-process' });
    expect(snapshot.context.attempts['kill-process']).toBeUndefined();
  });

  test('when the escalation step itself fails for good, the run ends failed', () => {
    const { snapshot, intents } = walk([
      ok('triage', 'false_positive'),
      failed('escalate', true),
      { type: 'RETRY.DUE', step: 'escalate' },
      failed('escalate', true),
    ]);
    expect(intents.slice(-3)).toEqual([
      { type: 'scheduleRetry', params: { step: 'escalate', attempt: 2, delayMs: 1_000 } },
      run('escalate', 'notify', 2),
      finished('failed'),
    ]);
    expect(snapshot.value).toBe('failed');
  });

  test('an outcome in doubt asks the runtime to settle it, then routes on what it finds', () => {
    const unknown = walk([{ type: 'STEP.UNKNOWN', step: 'triage' }]);
    expect(unknown.intents.at(-1)).toEqual({ type: 'settleStep', params: { step: 'triage' } });
    expect(unknown.snapshot.value).toEqual({ triage: 'settling' });
    expect(walk([ok('triage', 'malicious')], unknown.snapshot).snapshot.value).toEqual({ isolate: 'approval' });
    const retried = walk([failed('triage', true)], unknown.snapshot);
    expect(retried.snapshot.value).toEqual({ triage: 'backoff' });
    expect(retried.intents).toEqual([{ type: 'scheduleRetry', params: { step: 'triage', attempt: 2, delayMs: 5_000 } }]);
  });

  test('events about another step, or not expected now, change nothing and emit nothing', () => {
    const [running] = initialTransition(machine);
    const strays: RunEvent[] = [
      ok('isolate', 'isolated'),
      ok('scan', 'false_positive'),
      failed('escalate', false),
      { type: 'STEP.UNKNOWN', step: 'scan' },
      approve('triage'),
      approve('isolate'),
      { type: 'DENY', step: 'isolate', reason: 'too early' },
      { type: 'APPROVAL.EXPIRED', step: 'isolate' },
      { type: 'RETRY.DUE', step: 'triage' },
    ];
    for (const event of strays) {
      const [next, actions] = transition(machine, running, event);
      expect(actions, event.type).toEqual([]);
      expect({ value: next.value, context: next.context }, event.type).toEqual({ value: running.value, context: running.context });
    }
    // An approval for another gated step does not open this one's gate.
    const gate = walk([ok('triage', 'malicious')]).snapshot;
    for (const event of [approve('kill-process'), { type: 'DENY', step: 'kill-process', reason: 'x' }, { type: 'APPROVAL.EXPIRED', step: 'triage' }] as RunEvent[]) {
      const [next, actions] = transition(machine, gate, event);
      expect(actions, event.type).toEqual([]);
      expect(next.value, event.type).toEqual({ isolate: 'approval' });
    }
    // A late duplicate of a result already handled cannot move the run either.
    const { snapshot } = walk([ok('triage', 'malicious')]);
    const [again, actions] = transition(machine, snapshot, ok('triage', 'false_positive'));
    expect(actions).toEqual([]);
    expect(again.value).toEqual({ isolate: 'approval' });
  });
});

describe('durable runs', () => {
  test('the machine holds no timers and invokes nothing: deadlines are intents', () => {
    const nodes: AnyStateNode[] = [];
    const collect = (node: AnyStateNode): void => {
      nodes.push(node);
      Object.values(node.states).forEach(collect);
    };
    collect(machine.root);
    expect(nodes.length).toBeGreaterThan(playbook.steps.length);
    for (const node of nodes) {
      expect(node.after, node.id).toEqual([]);
      expect(node.invoke, node.id).toEqual([]);
    }
  });

  test('a run persisted after any event and restored from JSON ends exactly as one never interrupted', () => {
    const whole = walk(HAPPY);
    for (let cut = 0; cut <= HAPPY.length; cut++) {
      const before = walk(HAPPY.slice(0, cut));
      const after = walk(HAPPY.slice(cut), persistAndRestore(before.snapshot));
      expect([...before.intents, ...after.intents], `cut after ${cut} events`).toEqual(whole.intents);
      expect(after.snapshot.value).toEqual(whole.snapshot.value);
      expect(after.snapshot.context).toEqual(whole.snapshot.context);
    }
  });

  test('a run waiting out a retry backoff restores and carries on at the right attempt', () => {
    const waiting = walk([failed('triage', true)]).snapshot;
    const restored = persistAndRestore(waiting);
    expect(restored.value).toEqual({ triage: 'backoff' });
    expect(walk([{ type: 'RETRY.DUE', step: 'triage' }], restored).intents).toEqual([run('triage', 'triage', 2, 120_000)]);
  });

  test('restoring does not re-emit the intents already committed', () => {
    const waiting = walk([ok('triage', 'malicious')]).snapshot;
    const [, actions] = transition(machine, persistAndRestore(waiting), { type: 'APPROVE', step: 'other' });
    expect(actions).toEqual([]);
  });

  test('under any sequence of events: restored snapshots behave identically, gated steps never run unapproved, retries stay bounded', () => {
    const steps = ['triage', 'isolate', 'kill-process', 'scan', 'escalate', 'other'];
    const outcomes = ['malicious', 'false_positive', 'isolated', 'killed', 'none_found', 'clean', 'sent', 'odd'];
    // Choices, not events: most events name the current step so that runs get deep; the rest are strays.
    type Choice = { stray: number; step: number; kind: number; outcome: number; retryable: boolean };
    const choice: fc.Arbitrary<Choice> = fc.record({ stray: fc.nat(9), step: fc.nat(steps.length - 1), kind: fc.nat(9), outcome: fc.nat(outcomes.length - 1), retryable: fc.boolean() });
    const eventFor = (current: string | undefined, { stray, step: pick, kind, outcome, retryable }: Choice): RunEvent => {
      const step = stray < 7 && current !== undefined ? current : steps[pick]!;
      // Successes and approvals weigh more, or few walks would get past the first gate.
      const events: RunEvent[] = [
        ok(step, outcomes[outcome]!),
        ok(step, outcomes[outcome]!),
        approve(step),
        approve(step),
        failed(step, retryable),
        { type: 'STEP.UNKNOWN', step },
        { type: 'DENY', step, reason: 'no' },
        { type: 'APPROVAL.EXPIRED', step },
        { type: 'RETRY.DUE', step },
        { type: 'RETRY.DUE', step },
      ];
      return events[kind]!;
    };
    const gated = new Set(playbook.steps.filter((step) => step.approval).map((step) => step.id));
    const maxAttempts = new Map(playbook.steps.map((step) => [step.id, step.retries.max + 1]));
    const seen = { gatedRuns: 0, retries: 0, finished: new Set<string>() };

    fc.assert(
      fc.property(fc.array(choice, { minLength: 5, maxLength: 40 }), (choices) => {
        let [snapshot, actions] = initialTransition(machine);
        const approved = new Set<string>();
        let finishedRun = false;
        for (const made of choices) {
          const current = typeof snapshot.value === 'object' ? Object.keys(snapshot.value)[0] : undefined;
          const next = eventFor(current, made);
          const [original, originalActions] = transition(machine, snapshot, next);
          const [restored, restoredActions] = transition(machine, persistAndRestore(snapshot), next);
          expect(JSON.stringify(restored.value)).toBe(JSON.stringify(original.value));
          expect(restored.context).toEqual(original.context);
          expect(intentsOf(restoredActions)).toEqual(intentsOf(originalActions));

          // An event naming another step than the current one is ignored.
          if (next.step !== current) {
            expect(intentsOf(originalActions)).toEqual([]);
            expect({ value: original.value, context: original.context }).toEqual({ value: snapshot.value, context: snapshot.context });
          }
          if (next.type === 'APPROVE' && JSON.stringify(snapshot.value) === JSON.stringify({ [next.step]: 'approval' })) approved.add(next.step);
          [snapshot, actions] = [original, originalActions];
          for (const intent of intentsOf(actions)) {
            expect(INTENT_TYPES.has(intent.type)).toBe(true);
            expect(finishedRun, 'no intent after the run finished').toBe(false);
            if (intent.type === 'runFinished') {
              finishedRun = true;
              seen.finished.add(intent.params.status);
            }
            if (intent.type === 'runStep') {
              if (gated.has(intent.params.step)) {
                expect(approved.has(intent.params.step)).toBe(true);
                seen.gatedRuns++;
              }
              if (intent.params.attempt > 1) seen.retries++;
              expect(intent.params.attempt).toBeLessThanOrEqual(maxAttempts.get(intent.params.step)!);
            }
          }
        }
      }),
      // A fixed seed: 42the depth checks below describe these walks, and CI must not flake on a shallow draw.
      { numRuns: 600, seed: 42 },
    );
    // The walks went deep: through approval gates, retries, and to every end.
    expect(seen.gatedRuns).toBeGreaterThan(60);
    expect(seen.retries).toBeGreaterThan(30);
    expect([...seen.finished].sort()).toEqual(['aborted', 'done', 'failed']);
  });
});
