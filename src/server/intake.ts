import type { FastifyInstance } from 'fastify';
import { recordRefusedInput } from '../audit/refused-input.js';
import { ACTIONS } from '../actions/registry.js';
import { parseAlerts } from '../alert/intake.js';
import type { Config } from '../config/config.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import type { Playbook } from '../playbook/load.js';
import { GroupCommit } from '../store/group-commit.js';
import type { Store } from '../store/store.js';
import { sameSecret } from './credentials.js';
import { HttpRefusal } from './http-error.js';
import { acknowledgeAlerts } from '../kibana/acknowledge.js';
import type { Scheduler } from './scheduler.js';

export interface IntakeOptions {
  config: Config;
  store: Store;
  playbook: Playbook;
  scheduler: Scheduler;
  intakeSecret: string;
  /** Seconds Kibana is told to wait when the queue is full. */
  retryAfterSeconds?: number;
}

/**
 * POST /api/alerts: Kibana's webhook bodies and every other intake shape. All of a body's alerts
 * are checked and planned before any is admitted, so a body is taken whole or refused whole; each
 * admission is in the store before 202 is sent (bodies arriving together share one commit).
 */
export function intakeRoute(app: FastifyInstance, options: IntakeOptions): void {
  const { config, store, playbook, scheduler } = options;
  const admissions = new GroupCommit(store);
  app.post('/api/alerts', async (request, reply) => {
    const presented = request.headers['x-soar-secret'];
    if (typeof presented !== 'string' || !sameSecret(presented, options.intakeSecret)) {
      throw new HttpRefusal(401, 'INTAKE_UNAUTHENTICATED', 'the x-soar-secret header is missing or wrong: set it in the Kibana connector to server.intake_secret');
    }
    if (scheduler.full) {
      void reply.header('retry-after', String(options.retryAfterSeconds ?? 30));
      throw new HttpRefusal(429, 'QUEUE_FULL', 'soar has as many runs waiting as server.queue_limit allows: send the alert again after Retry-After');
    }
    const plans = refusedIntoAudit(store, () => parseAlerts(request.body).map((alert) => reachable(buildPlan({ alert, playbook, config, actions: ACTIONS }))));
    // A body's admissions commit together, and with those of the bodies arriving alongside it.
    const runs = await admissions.submit(() => plans.map((plan) => ({ alert: plan.alert.id, ...scheduler.admit(plan, playbook) }))).catch((error: unknown) => {
      scheduler.resync();
      throw error;
    });
    void acknowledgeAlerts(config, store, runs.filter((admitted) => admitted.created));
    return reply.code(202).send({ runs });
  });
}

/** A host soar cannot reach is refused up front (422, never retried), not discovered at its first step. */
function reachable(plan: Plan): Plan {
  if (!plan.host) {
    throw new HttpRefusal(422, 'HOST_NOT_IN_INVENTORY', `host ${plan.target.host.name} is not in the inventory: add it (address, user, identity) and pin its key in known_hosts, then have Kibana send the alert again`);
  }
  return plan;
}

/** Refused input is audited as soar run audits it (input.refused), then reported. */
function refusedIntoAudit<T>(store: Store, work: () => T): T {
  try {
    return work();
  } catch (error) {
    recordRefusedInput(store, error);
    throw error;
  }
}
