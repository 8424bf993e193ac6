import * as z from 'zod';
import { SYSTEMD_UNIT_NAME } from '../grammar.js';
import type { Alert } from './alert.js';
import { renderValue } from './render.js';

/**
 * Which alerts a playbook takes. The rule criterion is required so that no playbook takes every
 * alert by accident; every criterion given must hold.
 */
export const TRIGGER_SCHEMA = z
  .strictObject({
    rule_ids: z.array(z.string().min(1)).default([]),
    rule_names: z.array(z.string().min(1)).default([]),
    file_names: z.array(z.string().regex(SYSTEMD_UNIT_NAME, 'a systemd unit name')).default([]),
    os: z.array(z.enum(['linux', 'windows', 'macos'])).default([]),
  })
  .refine((trigger) => trigger.rule_ids.length > 0 || trigger.rule_names.length > 0, {
    message: 'a trigger names the rules it takes: give rule_ids or rule_names (or both)',
    path: ['rule_ids'],
  });
export type Trigger = z.infer<typeof TRIGGER_SCHEMA>;

export type TriggerMatch = { taken: true } | { taken: false; reasons: string[] };

export function matchTrigger(trigger: Trigger, alert: Alert): TriggerMatch {
  const reasons = [ruleReason(trigger, alert), fileReason(trigger, alert), osReason(trigger, alert)].filter(
    (reason): reason is string => reason !== undefined,
  );
  return reasons.length === 0 ? { taken: true } : { taken: false, reasons };
}

/** Taken when the rule id OR the rule name is listed: a rule may be known by either. */
function ruleReason(trigger: Trigger, alert: Alert): string | undefined {
  const { ruleId, name } = alert.rule;
  if (ruleId !== undefined && trigger.rule_ids.includes(ruleId)) return undefined;
  if (name !== undefined && trigger.rule_names.includes(name)) return undefined;
  return `kibana.alert.rule.rule_id ${shown(ruleId)} (rule ${shown(name)}) is not one this playbook takes`;
}

function fileReason(trigger: Trigger, alert: Alert): string | undefined {
  const { name } = alert.file;
  if (trigger.file_names.length === 0 || (name !== undefined && trigger.file_names.includes(name))) return undefined;
  return `file.name ${shown(name)} is not one of ${trigger.file_names.join(', ')}`;
}

function osReason(trigger: Trigger, alert: Alert): string | undefined {
  const { type } = alert.host.os;
  if (trigger.os.length === 0 || trigger.os.some((os) => os === type)) return undefined;
  return `host.os.type ${shown(type)} is not ${trigger.os.join(' or ')}`;
}

function shown(value: string | undefined): string {
  return value === undefined ? '(absent)' : renderValue(value);
}
