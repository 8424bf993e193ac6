import type { Config } from '../config/config.js';
import { isSoarError } from '../errors.js';
import type { Store } from '../store/store.js';
import { openKibana } from './escalation.js';

const ACKNOWLEDGE_TIMEOUT_MS = 10_000;

/**
 * Marks the alerts of new incidents `acknowledged` in Kibana, so the SOC sees them in progress.
 * Best effort: the intake's answer never waits for it, and the outcome lands in each run's audit
 * trail either way (the escalation later closes or re-acknowledges the alert, with retries).
 */
export async function acknowledgeAlerts(config: Config, store: Store, runs: ReadonlyArray<{ run: string; alert: string }>): Promise<void> {
  const kibana = config.escalation.kibana;
  if (!kibana || runs.length === 0) return;
  const audit = (kind: string, data: object) => {
    try {
      store.transaction(() => {
        for (const { run, alert } of runs) store.appendAudit({ run, kind, actor: 'soar', data: { alert, ...data } });
      });
    } catch {
      // The service shut its store meanwhile; the escalation sets the alert's status again anyway.
    }
  };
  try {
    const client = await openKibana(config, kibana, { timeoutMs: ACKNOWLEDGE_TIMEOUT_MS });
    const { updated } = await client.setAlertStatus(
      runs.map((entry) => entry.alert),
      'acknowledged',
    );
    audit('kibana.acknowledged', { status: 'acknowledged', updated });
  } catch (error) {
    audit('kibana.failed', { request: 'acknowledge alert', code: isSoarError(error) ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) });
  }
}
