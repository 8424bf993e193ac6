import { z } from 'zod';
import type { ActionDefinition } from './action.js';

const params = z.strictObject({
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
});

export const escalate: ActionDefinition<z.infer<typeof params>> = {
  name: 'escalate',
  summary: "Open a case for the SOC with the alert, the verdict, every step's outcome, evidence and findings",
  destructive: false,
  params,
  outcomes: ['delivered'],
  plan(stepParams, { config }) {
    const webhook = config.escalation.webhook;
    if (!webhook) {
      return [{ purpose: `record a ${stepParams.severity} case in the run's audit trail (no webhook configured)`, where: 'audit' }];
    }
    return [{ purpose: `deliver a ${stepParams.severity} case to the SOC webhook (JSON, ${webhook.retries} retries)`, where: 'http', request: { method: 'POST', url: webhook.url } }];
  },
};
