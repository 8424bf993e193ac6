import type { ActionDefinition, PlanContext, StepResult } from '../actions/action.js';
import { StepFailedError, StepOutcomeUnknownError } from '../actions/failure.js';
import type { ApprovalDesk } from '../approvals/approval.js';
import type { Journal } from '../audit/journal.js';
import { sha256Hex } from '../canonical-json.js';
import type { Config } from '../config/config.js';
import { isSoarError } from '../errors.js';
import { buildCase, type SocCase } from '../escalation/case.js';
import { postCase } from '../escalation/webhook.js';
import type { Plan, PlannedStep } from '../plan/plan.js';
import { compilePlaybook, type RunContext, type RunEvent, type RunIntent, type RunStatus } from '../playbook/compile.js';
import type { Playbook } from '../playbook/load.js';
import type { ExecResult, Transport } from '../transport/transport.js';
import { advanceRun, beginRun, type Transition } from './machine-steps.js';
import { performStep, settleStep, type StepIo } from './perform-step.js';

/** How much of a command's output goes into the audit record as text (the sha256 covers all). */
const AUDIT_OUTPUT_CHARS = 16 * 1024;

export interface Hosts {
  transport(hostName: string): Transport;
  probe(hostName: string): Promise<void>;
}

export type ProgressEvent =
  | { kind: 'step'; step: PlannedStep; attempt: number }
  | { kind: 'result'; step: PlannedStep; result: StepResult }
  | { kind: 'failed'; step: PlannedStep; message: string; retryable: boolean }
  | { kind: 'approval'; step: PlannedStep; count: number; roles: string[] }
  | { kind: 'decision'; step: PlannedStep; decision: string; by: string }
  | { kind: 'retry'; step: PlannedStep; attempt: number; delayMs: number }
  | { kind: 'finished'; status: RunStatus; context: RunContext };

export interface RunOptions {
  plan: Plan;
  playbook: Playbook;
  config: Config;
  actions: ReadonlyMap<string, ActionDefinition>;
  journal: Journal;
  desk: ApprovalDesk;
  hosts: Hosts;
  progress?: (event: ProgressEvent) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface RunReport {
  runId: string;
  status: RunStatus;
  context: RunContext;
  results: Map<string, StepResult>;
  case: SocCase | undefined;
}

const SOAR = 'soar';

function auditOutput(text: string): { sha256: string; text: string; cut: boolean } {
  return { sha256: sha256Hex(text), text: text.slice(0, AUDIT_OUTPUT_CHARS), cut: text.length > AUDIT_OUTPUT_CHARS };
}

function auditResult(result: ExecResult) {
  const { stdout, stderr, ...rest } = result;
  return { ...rest, stdout: auditOutput(stdout), stderr: auditOutput(stderr) };
}

/**
 * Drives one run: the machine decides (pure transitions), this loop acts on its intents and
 * feeds the results back as events. Every transition, request, decision, command and result is
 * written to the journal before the next thing is done.
 */
export async function executeRun(options: RunOptions): Promise<RunReport> {
  const { plan, config, journal } = options;
  const machine = compilePlaybook(options.playbook);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const results = new Map<string, StepResult>();
  const stepsById = new Map(plan.steps.map((step) => [step.id, step]));
  const hostName = plan.target.host.name;
  const audit = (kind: string, data: unknown, actor = SOAR) => journal.append({ run: plan.runId, kind, actor, data });
  let built: SocCase | undefined;
  let status: RunStatus | undefined;

  const contextFor = (step: PlannedStep): PlanContext => ({
    target: plan.target,
    config,
    runId: plan.runId,
    timeoutMs: step.timeoutMs,
    alertTime: plan.alert.timestamp,
  });

  let current: Transition = beginRun(machine);
  audit('run.started', { plan: plan.hash, playbook: plan.playbook, alert: plan.alert, target: plan.target, host: plan.host, state: current.state });

  const ioFor = (step: PlannedStep): StepIo => ({
    host: options.hosts.transport(hostName),
    probe: () => options.hosts.probe(hostName),
    deliver: async (planned) => {
      const severity = (step.params as { severity?: string }).severity ?? 'high';
      built = buildCase(plan, current.context, results, severity);
      audit('case.built', built);
      if (planned.where === 'audit') return undefined;
      try {
        return await postCase(config, planned.request.url, built, step.timeoutMs);
      } catch (error) {
        throw new StepFailedError(`${planned.purpose}: ${isSoarError(error) ? error.message : String((error as Error).cause ?? error)}`, { retryable: true, cause: error });
      }
    },
    observe: (event) => {
      if (event.phase === 'sending') audit('command.sent', { step: step.id, purpose: event.purpose, argv: event.command.argv, stdin: event.command.stdin === undefined ? undefined : auditOutput(event.command.stdin) });
      else audit('command.returned', { step: step.id, purpose: event.purpose, result: auditResult(event.result) });
    },
  });

  const asEvent = (step: PlannedStep, error: unknown): RunEvent => {
    if (error instanceof StepOutcomeUnknownError) {
      audit('step.unknown', { step: step.id, message: error.message });
      return { type: 'STEP.UNKNOWN', step: step.id };
    }
    const retryable = isSoarError(error) ? error.retryable : false;
    const code = isSoarError(error) ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    audit('step.failed', { step: step.id, code, message, retryable, evidence: error instanceof StepFailedError ? error.evidence : undefined });
    options.progress?.({ kind: 'failed', step, message, retryable });
    return { type: 'STEP.FAILED', step: step.id, error: { code, message }, retryable };
  };

  const succeeded = (step: PlannedStep, result: StepResult): RunEvent => {
    results.set(step.id, result);
    audit('step.result', { step: step.id, ...result });
    options.progress?.({ kind: 'result', step, result });
    return { type: 'STEP.OK', step: step.id, outcome: result.outcome };
  };

  const handle = async (intent: RunIntent): Promise<RunEvent | undefined> => {
    if (intent.type === 'runFinished') {
      status = intent.params.status;
      return undefined;
    }
    const step = stepsById.get(intent.params.step)!;
    const action = options.actions.get(step.action)!;
    switch (intent.type) {
      case 'requestApproval': {
        const request = { runId: plan.runId, step, stepHash: step.hash, count: intent.params.count, roles: intent.params.roles, expiresAt: new Date(Date.now() + intent.params.expiresInMs) };
        audit('approval.requested', { step: step.id, stepHash: step.hash, count: request.count, roles: request.roles, expiresAt: request.expiresAt.toISOString(), commands: step.commands });
        options.progress?.({ kind: 'approval', step, count: request.count, roles: request.roles });
        const decision = await options.desk.decide(request);
        if (decision.kind === 'approved') {
          for (const vote of decision.votes) audit('approval.granted', { step: step.id, stepHash: vote.stepHash, reason: vote.reason }, vote.analyst);
          options.progress?.({ kind: 'decision', step, decision: 'approved', by: decision.votes.map((vote) => vote.analyst).join(', ') });
          return { type: 'APPROVE', step: step.id };
        }
        if (decision.kind === 'denied') {
          audit('approval.denied', { step: step.id, stepHash: step.hash, reason: decision.reason }, decision.analyst);
          options.progress?.({ kind: 'decision', step, decision: 'denied', by: decision.analyst });
          return { type: 'DENY', step: step.id, reason: decision.reason };
        }
        audit('approval.expired', { step: step.id, stepHash: step.hash });
        options.progress?.({ kind: 'decision', step, decision: 'expired', by: 'nobody' });
        return { type: 'APPROVAL.EXPIRED', step: step.id };
      }
      case 'runStep': {
        options.progress?.({ kind: 'step', step, attempt: intent.params.attempt });
        audit('step.started', { step: step.id, action: step.action, attempt: intent.params.attempt, stepHash: step.hash });
        try {
          return succeeded(step, await performStep(step, action, contextFor(step), ioFor(step)));
        } catch (error) {
          return asEvent(step, error);
        }
      }
      case 'scheduleRetry': {
        audit('retry.scheduled', { step: step.id, attempt: intent.params.attempt, delayMs: intent.params.delayMs });
        options.progress?.({ kind: 'retry', step, attempt: intent.params.attempt, delayMs: intent.params.delayMs });
        await sleep(intent.params.delayMs);
        return { type: 'RETRY.DUE', step: step.id };
      }
      case 'settleStep': {
        try {
          const settled = await settleStep(step, action, contextFor(step), ioFor(step));
          audit('step.settled', { step: step.id, inPlace: settled !== undefined });
          if (settled) return succeeded(step, settled);
          return { type: 'STEP.FAILED', step: step.id, error: { code: 'NOT_IN_PLACE', message: 'verify found the effect not in place: running the step again' }, retryable: true };
        } catch (error) {
          return asEvent(step, error);
        }
      }
    }
  };

  const queue = [...current.intents];
  while (queue.length > 0) {
    const event = await handle(queue.shift()!);
    if (!event) continue;
    const from = current.state;
    current = advanceRun(machine, current.snapshot, event);
    audit('transition', { event, from, to: current.state, intents: current.intents });
    queue.push(...current.intents);
  }

  const finalStatus = status ?? 'failed';
  audit('run.finished', { status: finalStatus, outcomes: current.context.outcomes, escalation: current.context.escalation });
  options.progress?.({ kind: 'finished', status: finalStatus, context: current.context });
  return { runId: plan.runId, status: finalStatus, context: current.context, results, case: built };
}
