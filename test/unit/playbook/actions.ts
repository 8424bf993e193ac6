import * as z from 'zod';
import type { ActionDefinition } from '../../../src/actions/action.js';

/** A small action registry for playbook tests: real zod params and outcomes, never run. */
function action(name: string, params: z.ZodType, outcomes: [string, ...string[]], destructive = false): ActionDefinition {
  const neverRun = (): never => {
    throw new Error('playbook test actions are never run');
  };
  return { name, summary: `${name} (test action)`, destructive, params, outcomes, plan: () => [], interpret: neverRun };
}

export const TEST_ACTIONS: ReadonlyMap<string, ActionDefinition> = new Map(
  [
    action('triage', z.strictObject({ allowlist: z.boolean().default(true) }), ['malicious', 'false_positive']),
    action('isolate', z.strictObject({ mode: z.enum(['full', 'egress']).default('full') }), ['isolated'], true),
    action('kill', z.strictObject({ signal: z.enum(['TERM', 'KILL']).default('TERM') }), ['killed', 'none_found'], true),
    action('scan', z.strictObject({}), ['clean', 'findings']),
    action('notify', z.strictObject({ channel: z.string().min(1) }), ['sent']),
  ].map((definition) => [definition.name, definition]),
);
