import type { ActionDefinition, PlannedCommand } from '../actions/action.js';
import type { Alert } from '../alert/alert.js';
import { extractTarget, type Target } from '../alert/target.js';
import { matchTrigger } from '../alert/trigger.js';
import { compactDigest, sha256Hex } from '../canonical-json.js';
import type { Config, HostEntry } from '../config/config.js';
import { SoarError } from '../errors.js';
import type { ApprovalPolicy, Playbook, Step } from '../playbook/load.js';

/** The playbook does not take this alert; `reasons` says why, field by field. */
export class AlertNotTakenError extends SoarError {
  readonly reasons: string[];
  constructor(playbook: string, reasons: string[]) {
    super('ALERT_NOT_TAKEN', `playbook ${playbook} does not take this alert: ${reasons.join('; ')}`);
    this.reasons = reasons;
  }
}

export interface PlannedStep {
  id: string;
  action: string;
  summary: string;
  destructive: boolean;
  params: unknown;
  approval: ApprovalPolicy | undefined;
  timeoutMs: number;
  retries: Step['retries'];
  onFailure: Step['onFailure'];
  next: Record<string, string>;
  commands: PlannedCommand[];
  /** sha256 of the step's canonical form (compactDigest): an approval binds to it and is void if it changes. */
  hash: string;
}

export interface Plan {
  runId: string;
  alert: { id: string; index: string | undefined; timestamp: string; rule: Alert['rule'] };
  playbook: { id: string; title: string; file: string };
  target: Target;
  /** How soar reaches the host, or undefined when it is not in the inventory (soar run refuses). */
  host: (Pick<HostEntry, 'address' | 'port' | 'user'> & { jump: string | undefined }) | undefined;
  steps: PlannedStep[];
  /** sha256 over every step's hash, the target and the playbook: the whole plan's identity. */
  hash: string;
}

/** A run's id follows from the alert and the playbook, so the same alert always plans the same. */
export function runIdFor(alertId: string, playbookId: string): string {
  return `run-${sha256Hex(`${playbookId}\n${alertId}`).slice(0, 16)}`;
}

/**
 * Plans a response without touching anything: checks the trigger, extracts and validates the
 * target, and asks each step's action for the exact commands it would run.
 */
export function buildPlan(input: {
  alert: Alert;
  playbook: Playbook;
  config: Config;
  actions: ReadonlyMap<string, ActionDefinition>;
}): Plan {
  const { alert, playbook } = input;
  const match = matchTrigger(playbook.trigger, alert);
  if (!match.taken) throw new AlertNotTakenError(playbook.id, match.reasons);
  return planFor({
    ...input,
    alert: { id: alert.id, index: alert.index, timestamp: alert.timestamp, rule: alert.rule },
    target: extractTarget(alert),
  });
}

/**
 * Plans a playbook against a target that is already validated: a new alert's (buildPlan), or an
 * earlier run's (a release of the host that run isolated).
 */
export function planFor(input: {
  alert: Plan['alert'];
  target: Target;
  playbook: Playbook;
  config: Config;
  actions: ReadonlyMap<string, ActionDefinition>;
}): Plan {
  const { alert, target, playbook, config, actions } = input;
  const runId = runIdFor(alert.id, playbook.id);
  const hostEntry = config.hosts[target.host.name];

  const steps = playbook.steps.map((step): PlannedStep => {
    const action = actions.get(step.action);
    if (!action) throw new SoarError('UNKNOWN_ACTION', `step ${step.id}: no action named ${step.action}`);
    const commands = action.plan(step.with, {
      target,
      config,
      runId,
      timeoutMs: step.timeoutMs,
      alertTime: alert.timestamp,
    });
    const bound = { id: step.id, action: step.action, params: step.with, host: target.host.name, user: hostEntry?.user, commands };
    return {
      id: step.id,
      action: step.action,
      summary: action.summary,
      destructive: action.destructive,
      params: step.with,
      approval: step.approval,
      timeoutMs: step.timeoutMs,
      retries: step.retries,
      onFailure: step.onFailure,
      next: step.next,
      commands,
      hash: compactDigest(bound),
    };
  });

  return {
    runId,
    alert,
    playbook: { id: playbook.id, title: playbook.title, file: playbook.file },
    target,
    host: hostEntry && { address: hostEntry.address, port: hostEntry.port, user: hostEntry.user, jump: hostEntry.jump },
    steps,
    hash: compactDigest({ runId, playbook: playbook.id, target, steps: steps.map((step) => step.hash) }),
  };
}
