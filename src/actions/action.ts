import type { z } from 'zod';
import type { Target } from '../alert/target.js';
import type { Command } from '../command/command.js';
import type { Config } from '../config/config.js';

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
  | { purpose: string; where: 'host'; command: Command }
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
}
