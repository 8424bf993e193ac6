import type { ActionDefinition } from './action.js';
import { escalate } from './escalate.js';
import { isolate } from './isolate.js';
import { killProcess } from './kill-process.js';
import { release } from './release.js';
import { removeUnit } from './remove-unit.js';
import { scan } from './scan.js';
import { triage } from './triage.js';

/** Every action a playbook step may name. */
export const ACTIONS: ReadonlyMap<string, ActionDefinition> = new Map(
  ([triage, isolate, release, killProcess, removeUnit, scan, escalate] as ActionDefinition<never>[]).map(
    (action) => [action.name, action as unknown as ActionDefinition],
  ),
);
