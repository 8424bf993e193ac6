import { z } from 'zod';
import type { ActionDefinition } from './action.js';
import { StepFailedError } from './failure.js';

const params = z.strictObject({
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
});

/**
 * The case itself is built by the runtime from the whole run (alert, verdict, every step's
 * outcome, evidence, findings); this action says where it goes and reads the delivery's answer.
 */
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
    return [{ purpose: `deliver a ${stepParams.severity} case to the SOC webhook (JSON)`, where: 'http', request: { method: 'POST', url: webhook.url } }];
  },
  interpret(stepParams, [delivery]) {
    if (!delivery) return { outcome: 'delivered', summary: 'case recorded in the audit trail', changed: false, evidence: {} };
    if (delivery.result.exitCode !== 0) {
      throw new StepFailedError(`the SOC webhook refused the case: ${delivery.result.stderr || delivery.result.stdout}`, { retryable: true });
    }
    return { outcome: 'delivered', summary: `${stepParams.severity} case delivered (${delivery.result.command})`, changed: false, evidence: { response: delivery.result.stdout.slice(0, 2000) } };
  },
};
