import * as z from 'zod';
import type { ActionDefinition } from '../actions/action.js';
import { TRIGGER_SCHEMA } from '../alert/trigger.js';
import { parseDuration } from '../config/config.js';

/**
 * The shape of a playbook file as written. Cross-references (actions, step ids, outcomes) are
 * checked by the loader, which knows the action registry; this schema only knows the format.
 */

/** Step and playbook ids: they name machine states and audit records, so keep them plain. */
export const PLAYBOOK_ID = /^[a-z][a-z0-9-]{0,62}$/;

/** `end` is the target that finishes a run; the others are the machine's final states. */
export const RESERVED_STEP_IDS: ReadonlySet<string> = new Set(['end', 'done', 'aborted', 'failed']);

export const ON_FAILURE = ['escalate', 'continue', 'abort'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

/** Reuses the config's duration grammar, so that both files accept the same spellings. */
function duration(minMs: number) {
  return z
    .string()
    .transform((text, context) => {
      try {
        const ms = parseDuration(text);
        if (ms >= minMs) return ms;
        context.issues.push({ code: 'custom', input: text, message: `must be at least ${minMs}ms` });
      } catch (error) {
        context.issues.push({ code: 'custom', input: text, message: (error as Error).message });
      }
      return z.NEVER;
    })
    .meta({ description: 'a duration: 500ms, 30s, 5m, 4h or 1d' });
}

const stepId = z
  .string()
  .regex(PLAYBOOK_ID, 'a step id: lowercase letters, digits and "-", starting with a letter, 63 at most')
  .refine((id) => !RESERVED_STEP_IDS.has(id), { message: `is reserved (${[...RESERVED_STEP_IDS].join(', ')}); choose another step id` });

/** How long an approval request stays open unless the playbook says otherwise. */
const APPROVAL_EXPIRES = '24h';

const approvalSchema = z
  .union(
    [
      z.enum(['none', 'required']),
      z.strictObject({
        count: z.number().int().min(1),
        /** Roles from the config's approvers; empty means any approver. */
        roles: z.array(z.string().min(1)).default([]),
        expires: duration(1).prefault(APPROVAL_EXPIRES),
      }),
    ],
    { error: 'expected none, required, or {count, roles, expires}' },
  )
  // `required` is the smallest gate: one approver of any role, within the default expiry.
  .transform((approval) => {
    if (approval === 'none') return undefined;
    const { count, roles, expires } = approval === 'required' ? { count: 1, roles: [], expires: parseDuration(APPROVAL_EXPIRES) } : approval;
    return { count, roles, expiresMs: expires };
  });

const retriesSchema = z.strictObject({
  max: z.number().int().min(0).max(10).default(0),
  backoff: duration(0).prefault('5s'),
  factor: z.number().min(1).max(10).default(2),
});

const nextSchema = z.union(
  [z.string().min(1), z.record(z.string(), z.string().min(1))],
  { error: 'expected a step id, end, or a map from outcome (or default) to a step id or end' },
);

export const STEP_SCHEMA = z.strictObject({
  id: stepId,
  action: z.string().min(1),
  with: z.unknown().optional(),
  timeout: duration(1).prefault('5m'),
  retries: retriesSchema.prefault({}),
  /** Left undefined when omitted: the escalation step treats a missing value differently. */
  on_failure: z.enum(ON_FAILURE).optional(),
  approval: approvalSchema.prefault('none'),
  next: nextSchema.optional(),
});

export const PLAYBOOK_SCHEMA = z.strictObject({
  playbook: z.string().regex(PLAYBOOK_ID, 'a playbook id: lowercase letters, digits and "-", starting with a letter'),
  title: z.string().min(1),
  description: z.string().optional(),
  trigger: TRIGGER_SCHEMA,
  escalation: z.string().optional(),
  steps: z.array(STEP_SCHEMA).min(1, 'a playbook needs at least one step'),
});

export type PlaybookFile = z.output<typeof PLAYBOOK_SCHEMA>;
export type StepFile = z.output<typeof STEP_SCHEMA>;

/**
 * The JSON Schema editors use to check playbooks as they are typed: each step's `with` is typed by
 * the action it names, so a misspelt parameter is flagged before `soar validate` runs.
 */
export function PLAYBOOK_JSON_SCHEMA(actions: ReadonlyMap<string, ActionDefinition>): Record<string, unknown> {
  const stepVariants = [...actions.values()].map((action) => {
    const withSchema = action.params.safeParse({}).success ? action.params.optional() : action.params;
    const keys = z.enum([...new Set([...action.outcomes, 'default', 'failed'])]);
    const next = z.union([z.string().min(1), z.partialRecord(keys, z.string().min(1))]);
    return STEP_SCHEMA.extend({ action: z.literal(action.name), with: withSchema, next: next.optional() });
  });
  const [first, ...rest] = stepVariants;
  const step = first === undefined ? STEP_SCHEMA : z.discriminatedUnion('action', [first, ...rest]);
  const schema = PLAYBOOK_SCHEMA.extend({ steps: z.array(step).min(1) });
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
}
