import * as z from 'zod';
import type { ActionDefinition } from './action.js';
import { planKibanaRequests } from '../kibana/escalation.js';
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
    const { webhook, kibana } = config.escalation;
    if (!webhook && !kibana) {
      return [{ purpose: `record a ${stepParams.severity} case in the run's audit trail (no webhook or Kibana configured)`, where: 'audit' }];
    }
    return [
      ...(webhook ? [{ purpose: `deliver a ${stepParams.severity} case to the SOC webhook (JSON)`, where: 'http' as const, request: { method: 'POST' as const, url: webhook.url } }] : []),
      ...(kibana ? planKibanaRequests(kibana) : []),
    ];
  },
  interpret(stepParams, deliveries) {
    if (deliveries.length === 0) return { outcome: 'delivered', summary: 'case recorded in the audit trail', changed: false, evidence: {} };
    const refused = deliveries.find((delivery) => delivery.result.exitCode !== 0);
    if (refused) {
      throw new StepFailedError(`the SOC webhook refused the case: ${refused.result.stderr || refused.result.stdout}`, { retryable: true });
    }
    return {
      outcome: 'delivered',
      summary: `${stepParams.severity} case delivered (${deliveries.map((delivery) => delivery.result.command).join('; ')})`,
      changed: false,
      evidence: { responses: deliveries.map((delivery) => ({ purpose: delivery.purpose, response: delivery.result.stdout.slice(0, 2000) })) },
    };
  },
};
