import { assign, setup } from 'xstate';
import type { Playbook, Step } from './load.js';
import { escalationStep, failureTarget, type RouteTarget } from './routes.js';

/**
 * A playbook as a pure XState machine: it says what it wants done (intents, as actions with
 * params) and learns what happened from events. It never does I/O and never starts a timer:
 * deadlines leave as intents with durations, and the runtime sends the due event back.
 */

export type EscalationReason = 'step_failed' | 'approval_denied' | 'approval_expired';

export interface StepError {
  code: string;
  message: string;
}

/** JSON-serialisable, so that a persisted snapshot restores exactly. */
export interface RunContext {
  /** Runs started per step (1 on the first try). */
  attempts: Record<string, number>;
  outcomes: Record<string, string>;
  failures: Record<string, StepError>;
  escalation?: { reason: EscalationReason; step: string; detail?: string };
}

export type RunEvent =
  | { type: 'STEP.OK'; step: string; outcome: string }
  | { type: 'STEP.FAILED'; step: string; error: StepError; retryable: boolean }
  | { type: 'STEP.UNKNOWN'; step: string }
  | { type: 'APPROVE'; step: string }
  | { type: 'DENY'; step: string; reason: string }
  | { type: 'APPROVAL.EXPIRED'; step: string }
  | { type: 'RETRY.DUE'; step: string };

export type RunStatus = 'done' | 'aborted' | 'failed';

export interface RequestApprovalParams {
  step: string;
  count: number;
  roles: string[];
  expiresInMs: number;
}
export interface RunStepParams {
  step: string;
  action: string;
  attempt: number;
  timeoutMs: number;
}
export interface ScheduleRetryParams {
  step: string;
  /** The attempt that will run when the retry is due. */
  attempt: number;
  delayMs: number;
}

/** What the runtime must do after a transition, in order. */
export type RunIntent =
  | { type: 'requestApproval'; params: RequestApprovalParams }
  | { type: 'runStep'; params: RunStepParams }
  | { type: 'scheduleRetry'; params: ScheduleRetryParams }
  | { type: 'settleStep'; params: { step: string } }
  | { type: 'runFinished'; params: { status: RunStatus } };

export const INTENT_TYPES: ReadonlySet<RunIntent['type']> = new Set(['requestApproval', 'runStep', 'scheduleRetry', 'settleStep', 'runFinished']);

// Intents are no-ops here: only their {type, params} matter, the runtime carries them out.
const intent = <P>() => (_: unknown, _params: P): void => {};

const machineSetup = setup({
  types: { context: {} as RunContext, events: {} as RunEvent },
  actions: {
    requestApproval: intent<RequestApprovalParams>(),
    runStep: intent<RunStepParams>(),
    scheduleRetry: intent<ScheduleRetryParams>(),
    settleStep: intent<{ step: string }>(),
    runFinished: intent<{ status: RunStatus }>(),
    countAttempt: assign(({ context }, { step }: { step: string }) => ({
      attempts: { ...context.attempts, [step]: (context.attempts[step] ?? 0) + 1 },
    })),
    recordOutcome: assign(({ context, event }, { step, outcome }: { step: string; outcome?: string }) => ({
      outcomes: { ...context.outcomes, [step]: outcome ?? (event.type === 'STEP.OK' ? event.outcome : 'failed') },
    })),
    recordFailure: assign(({ context, event }, { step }: { step: string }) =>
      event.type === 'STEP.FAILED' ? { failures: { ...context.failures, [step]: { code: event.error.code, message: event.error.message } } } : {},
    ),
    escalate: assign(({ event }, { step, reason }: { step: string; reason: EscalationReason }) => ({
      escalation: { reason, step, ...escalationDetail(event) },
    })),
  },
  guards: {
    /** A result about another step than the current one is late or duplicated: ignore it. */
    isStep: ({ event }, { step }: { step: string }) => event.step === step,
    hasOutcome: ({ event }, { step, outcome }: { step: string; outcome: string }) =>
      event.type === 'STEP.OK' && event.step === step && event.outcome === outcome,
    canRetry: ({ context, event }, { step, max }: { step: string; max: number }) =>
      event.type === 'STEP.FAILED' && event.step === step && event.retryable && (context.attempts[step] ?? 0) <= max,
  },
});

function escalationDetail(event: RunEvent): { detail?: string } {
  if (event.type === 'STEP.FAILED') return { detail: `${event.error.code}: ${event.error.message}` };
  if (event.type === 'DENY') return { detail: event.reason };
  return {};
}

export function compilePlaybook(playbook: Playbook) {
  const stateOf = (target: RouteTarget): string => `#${playbook.id}.${target === 'end' ? 'done' : target}`;
  const finalState = (status: RunStatus) =>
    machineSetup.createStateConfig({ type: 'final', entry: { type: 'runFinished', params: { status } } });
  const states: Record<string, ReturnType<typeof machineSetup.createStateConfig>> = {};
  for (const step of playbook.steps) states[step.id] = stepState(step, playbook, stateOf);
  states.done = finalState('done');
  states.aborted = finalState('aborted');
  states.failed = finalState('failed');
  return machineSetup.createMachine({
    id: playbook.id,
    context: { attempts: {}, outcomes: {}, failures: {} },
    initial: playbook.steps[0]!.id,
    states,
  });
}

export type PlaybookMachine = ReturnType<typeof compilePlaybook>;

/** One step: [approval →] running, with backoff between tries and settling when in doubt. */
function stepState(step: Step, playbook: Playbook, stateOf: (target: RouteTarget) => string) {
  const { id } = step;
  const onOk = [
    ...Object.entries(step.next)
      .filter(([outcome]) => outcome !== 'default' && outcome !== 'failed')
      .map(([outcome, target]) => ({
        guard: { type: 'hasOutcome' as const, params: { step: id, outcome } },
        target: stateOf(target),
        actions: { type: 'recordOutcome' as const, params: { step: id } },
      })),
    { guard: { type: 'isStep' as const, params: { step: id } }, target: stateOf(step.next.default!), actions: { type: 'recordOutcome' as const, params: { step: id } } },
  ];
  const onFailed = [
    ...(step.retries.max > 0
      ? [{ guard: { type: 'canRetry' as const, params: { step: id, max: step.retries.max } }, target: 'backoff', actions: { type: 'recordFailure' as const, params: { step: id } } }]
      : []),
    { guard: { type: 'isStep' as const, params: { step: id } }, target: stateOf(failureTarget(step, playbook)), actions: failureActions(step, playbook) },
  ];
  const results = { 'STEP.OK': onOk, 'STEP.FAILED': onFailed };

  return machineSetup.createStateConfig({
    initial: step.approval ? 'approval' : 'running',
    states: {
      ...(step.approval ? { approval: approvalState(step, playbook, stateOf) } : {}),
      running: {
        entry: [
          { type: 'countAttempt', params: { step: id } },
          {
            type: 'runStep',
            params: ({ context }) => ({ step: id, action: step.action, attempt: context.attempts[id] ?? 1, timeoutMs: step.timeoutMs }),
          },
        ],
        on: { ...results, 'STEP.UNKNOWN': { guard: { type: 'isStep', params: { step: id } }, target: 'settling' } },
      },
      ...(step.retries.max > 0
        ? {
            backoff: {
              entry: {
                type: 'scheduleRetry',
                params: ({ context }) => retryAfter(step, context.attempts[id] ?? 1),
              },
              on: { 'RETRY.DUE': { guard: { type: 'isStep', params: { step: id } }, target: 'running' } },
            },
          }
        : {}),
      settling: { entry: { type: 'settleStep', params: { step: id } }, on: results },
    },
  });
}

/** The retry after failed attempt n waits backoff·factor^(n-1). */
function retryAfter(step: Step, failedAttempt: number): ScheduleRetryParams {
  const { backoffMs, factor } = step.retries;
  return { step: step.id, attempt: failedAttempt + 1, delayMs: Math.round(backoffMs * factor ** (failedAttempt - 1)) };
}

function failureActions(step: Step, playbook: Playbook) {
  const record = { type: 'recordFailure' as const, params: { step: step.id } };
  if (step.id === playbook.escalation) return [record];
  switch (step.onFailure) {
    case 'escalate':
      return [record, { type: 'escalate' as const, params: { step: step.id, reason: 'step_failed' as const } }];
    case 'continue':
      return [record, { type: 'recordOutcome' as const, params: { step: step.id, outcome: 'failed' } }];
    case 'abort':
      return [record];
  }
}

function approvalState(step: Step, playbook: Playbook, stateOf: (target: RouteTarget) => string) {
  const { id, approval } = step;
  const escalation = stateOf(escalationStep(playbook));
  return machineSetup.createStateConfig({
    entry: {
      type: 'requestApproval',
      params: { step: id, count: approval!.count, roles: approval!.roles, expiresInMs: approval!.expiresMs },
    },
    on: {
      APPROVE: { guard: { type: 'isStep', params: { step: id } }, target: 'running' },
      DENY: {
        guard: { type: 'isStep', params: { step: id } },
        target: escalation,
        actions: { type: 'escalate', params: { step: id, reason: 'approval_denied' } },
      },
      'APPROVAL.EXPIRED': {
        guard: { type: 'isStep', params: { step: id } },
        target: escalation,
        actions: { type: 'escalate', params: { step: id, reason: 'approval_expired' } },
      },
    },
  });
}
