import type * as z from 'zod';
import type { Target } from '../alert/target.js';
import type { Command } from '../command/command.js';
import type { Config } from '../config/config.js';
import type { ExecResult } from '../transport/transport.js';
import type { Records } from './records.js';

/** What an action may read while planning: nothing but validated data, no I/O. */
export interface PlanContext {
  target: Target;
  config: Config;
  /** Run id, used to name per-run things on the host (quarantine directory, revert timer). */
  runId: string;
  /** The step's time limit: each remote program is bounded by it on the host and locally. */
  timeoutMs: number;
  /** When the alert fired (ISO): scans look for changes made since then. */
  alertTime: string;
}

/** One thing a step will do, shown to the analyst before approval and bound into the plan hash. */
export type PlannedCommand =
  /** `fresh`: run over a NEW connection (proof that management access still works). */
  | { purpose: string; where: 'host'; command: Command; fresh?: boolean }
  | { purpose: string; where: 'local'; command: Command }
  | { purpose: string; where: 'http'; request: { method: 'POST'; url: string } }
  | { purpose: string; where: 'audit' };

/**
 * An action is data plus a script: a params schema, and a pure planner that returns the exact
 * programs it will run. Alert-derived values reach those programs only as whole argv elements.
 */
export interface ActionDefinition<P = unknown> {
  name: string;
  summary: string;
  /** Changes the host (needs evidence first and, in a sane playbook, an approval gate). */
  destructive: boolean;
  params: z.ZodType<P>;
  /** The outcomes a successful run can report; a playbook step may branch on them. */
  outcomes: readonly [string, ...string[]];
  plan(params: P, context: PlanContext): PlannedCommand[];
  /**
   * Reads what the planned host commands returned (all exited 0, in plan order) into the step's
   * result. Throws StepFailedError when the effect was not achieved.
   */
  interpret(params: P, runs: readonly CommandRun[], context: PlanContext): StepResult;
  /**
   * A read-only check of whether the action's effect is in place, used to settle a step whose
   * outcome is unknown before anything is re-run. Read-only actions have none: re-running is safe.
   */
  verify?(params: P, context: PlanContext): Verification;
}

/** A host command a step ran, with what came back. */
export interface CommandRun {
  purpose: string;
  result: ExecResult;
  records: Records;
}

/** What a step achieved, as the analyst and the audit trail read it. */
export interface StepResult {
  /** One of the action's outcomes: the playbook may branch on it. */
  outcome: string;
  /** One line for humans, e.g. "killed 2 processes; unit disabled". */
  summary: string;
  /** False when the effect was already in place and nothing changed (a second run says so). */
  changed: boolean;
  evidence: Record<string, unknown>;
}

export interface Verification {
  command: Command;
  /** Whether the effect is in place, according to the program's records. */
  holds(records: Records): boolean;
}
