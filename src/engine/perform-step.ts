import type { ActionDefinition, CommandRun, PlanContext, PlannedCommand, StepResult } from '../actions/action.js';
import { StepFailedError, StepOutcomeUnknownError } from '../actions/failure.js';
import { Records } from '../actions/records.js';
import type { Command } from '../command/command.js';
import { isSoarError } from '../errors.js';
import type { PlannedStep } from '../plan/plan.js';
import type { ExecResult, Transport } from '../transport/transport.js';

/** Exit statuses of the remote scripts that no retry can change (see remote/prelude.sh). */
const PERMANENT_EXITS = new Set([64, 69]);

/** How a step reaches the world. */
export interface StepIo {
  /** The target host's transport (one reused connection). */
  host: Transport;
  /** Opens a NEW connection to the host and runs `true` there; throws if that fails. */
  probe(): Promise<void>;
  /** Delivers what an `http` or `audit` planned command stands for (the escalation case). */
  deliver(planned: Extract<PlannedCommand, { where: 'http' | 'audit' }>): Promise<ExecResult | undefined>;
  /** Told before each command is sent and after its result is back (audit, progress). */
  observe?(event: { phase: 'sending'; purpose: string; command: Command } | { phase: 'returned'; purpose: string; result: ExecResult }): void;
}

/** Why a command failed, in the script's own words when it gave them. */
function failureMessage(purpose: string, result: ExecResult, records: Records): string {
  if (result.timedOut) return `${purpose}: timed out after ${result.durationMs} ms`;
  const said = records.get('error') ?? result.stderr.trim().split('\n').slice(-3).join(' / ');
  return `${purpose}: exit ${result.exitCode ?? `signal ${result.signal}`}${said ? `: ${said}` : ''}`;
}

async function runOnHost(planned: Extract<PlannedCommand, { where: 'host' }>, io: StepIo): Promise<CommandRun> {
  const { purpose, command } = planned;
  io.observe?.({ phase: 'sending', purpose, command });
  let result: ExecResult;
  try {
    if (planned.fresh) {
      const startedAt = new Date();
      await io.probe();
      result = { command: '(new connection) true', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), timedOut: false, outcomeUnknown: false };
    } else {
      result = await io.host.exec(command);
    }
  } catch (error) {
    // The command was never sent (connection, host key, auth, probe): say so, keep the code.
    const reason = isSoarError(error) ? `${error.message} (${error.code})` : String(error);
    throw new StepFailedError(`${purpose}: ${reason}`, {
      retryable: isSoarError(error) ? error.retryable : false,
      cause: error,
      code: isSoarError(error) ? error.code : undefined,
    });
  }
  io.observe?.({ phase: 'returned', purpose, result });
  const records = new Records(result.stdout);
  if (result.outcomeUnknown) {
    throw new StepOutcomeUnknownError(`${purpose}: the connection was lost before the host reported how the command ended`);
  }
  if (result.exitCode !== 0) {
    throw new StepFailedError(failureMessage(purpose, result, records), {
      retryable: !PERMANENT_EXITS.has(result.exitCode ?? -1),
      evidence: { records: Object.fromEntries(records.entries), stderr: result.stderr.slice(-4000) },
    });
  }
  return { purpose, result, records };
}

/** Runs a planned step's commands in order and reads them into the step's result. */
export async function performStep(step: PlannedStep, action: ActionDefinition, context: PlanContext, io: StepIo): Promise<StepResult> {
  const runs: CommandRun[] = [];
  for (const planned of step.commands) {
    if (planned.where === 'host') {
      runs.push(await runOnHost(planned, io));
    } else if (planned.where === 'local') {
      throw new StepFailedError(`${planned.purpose}: local commands are not part of any action yet`, { retryable: false });
    } else {
      const result = await io.deliver(planned);
      if (result) runs.push({ purpose: planned.purpose, result, records: new Records('') });
    }
  }
  return action.interpret(step.params, runs, context);
}

/**
 * Settles a step whose outcome is unknown: the action's read-only verify tells whether its
 * effect is in place. Returns the result when it is, or undefined when the step must run again.
 */
export async function settleStep(step: PlannedStep, action: ActionDefinition, context: PlanContext, io: StepIo): Promise<StepResult | undefined> {
  if (!action.verify) return undefined;
  const verification = action.verify(step.params, context);
  const run = await runOnHost({ purpose: `verify ${step.id} (read-only)`, where: 'host', command: verification.command }, io);
  if (!verification.holds(run.records)) return undefined;
  return {
    outcome: action.outcomes[0],
    summary: `settled: ${step.id}'s effect was verified in place after its outcome was lost`,
    changed: false,
    evidence: { verify: Object.fromEntries(run.records.entries) },
  };
}
