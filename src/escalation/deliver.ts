import type { PlannedCommand } from '../actions/action.js';
import { StepFailedError } from '../actions/failure.js';
import { auditExchange } from '../audit/capture.js';
import type { AuditRecord } from '../audit/record.js';
import type { Config } from '../config/config.js';
import { isSoarError, SoarError } from '../errors.js';
import { deliverToKibana, kibanaRequestOf } from '../kibana/escalation.js';
import type { PlannedStep } from '../plan/plan.js';
import type { ExecResult } from '../transport/transport.js';
import type { SocCase } from './case.js';
import { postCase } from './webhook.js';

export interface CaseDelivery {
  config: Config;
  step: PlannedStep;
  soc: SocCase;
  /** The run's trail so far: Kibana requests already acknowledged are not sent again. */
  records: readonly AuditRecord[];
  /** Commits an audit record of the run (each exchange, each acknowledgement). */
  commit(kind: string, data: unknown): void;
}

/**
 * Delivers the SOC case for one planned escalation request: the webhook, one of Kibana's
 * requests, or nothing (recorded in the trail only). Failures become step failures, which the
 * playbook step retries from the store.
 */
export async function deliverCase(planned: Extract<PlannedCommand, { where: 'http' | 'audit' }>, delivery: CaseDelivery): Promise<ExecResult | undefined> {
  if (planned.where === 'audit') return undefined;
  const { config, step, soc, records, commit } = delivery;
  const kibana = config.escalation.kibana;
  const request = kibanaRequestOf(planned);
  try {
    if (!request) return await postCase(config, planned.request.url, soc, step.timeoutMs);
    if (!kibana) throw new SoarError('KIBANA_NOT_CONFIGURED', 'the plan sends this to Kibana but escalation.kibana is no longer in the config: restore it, or start a new run');
    return await deliverToKibana(request, {
      config,
      kibana,
      soc,
      records,
      timeoutMs: step.timeoutMs,
      observe: (name, exchange) => commit(`kibana.${exchange.phase}`, auditExchange(step.id, name, exchange)),
      acknowledge: (delivered) => commit('kibana.delivered', { step: step.id, ...delivered }),
    });
  } catch (error) {
    // Kibana's refusals are for good; the webhook's, and anything unexpected, may pass.
    const retryable = request && isSoarError(error) ? error.retryable : true;
    throw new StepFailedError(`${planned.purpose}: ${isSoarError(error) ? error.message : String((error as Error).cause ?? error)}`, { retryable, cause: error, code: isSoarError(error) ? error.code : undefined });
  }
}
