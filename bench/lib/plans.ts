import { createHash } from 'node:crypto';
import { ACTIONS } from '../../src/actions/registry.js';
import { parseAlerts } from '../../src/alert/intake.js';
import type { Config } from '../../src/config/config.js';
import { buildPlan, type Plan } from '../../src/plan/plan.js';
import type { Playbook } from '../../src/playbook/load.js';
import { hostName, kibanaBody } from '../../test/unit/server/service.js';

/** A distinct alert uuid per index and label, so that no round's alert is a duplicate of another's. */
export function alertUuid(label: string, index: number): string {
  return createHash('sha256').update(`${label} ${index}`).digest('hex');
}

/**
 * The Kibana webhook body of alerts `index` … `index + count - 1` (one, or a summary action's
 * several): the mining fixture, each on its own host (web-NNN), so each alert is a new incident.
 */
export function alertBody(label: string, index: number, count = 1): Record<string, unknown> {
  return kibanaBody(Array.from({ length: count }, (_, offset) => ({ uuid: alertUuid(label, index + offset), host: hostName(index + offset) })));
}

/** The plan soar serve would make for alert `index`, built the way intake builds it. */
export function planFor(label: string, index: number, playbook: Playbook, config: Config): Plan {
  const [alert] = parseAlerts(alertBody(label, index));
  return buildPlan({ alert: alert!, playbook, config, actions: ACTIONS });
}
