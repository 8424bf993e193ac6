import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { registerConsole } from '../console/routes.js';
import type { Runtime } from '../engine/runtime.js';
import type { Logger } from '../log.js';
import type { Playbook } from '../playbook/load.js';
import { errorBody, httpStatusOf } from './http-error.js';
import { intakeRoute } from './intake.js';
import { runsRoutes } from './runs.js';
import type { Scheduler } from './scheduler.js';

export interface ServerOptions {
  config: Config;
  runtime: Runtime;
  playbook: Playbook;
  scheduler: Scheduler;
  /** The shared secret of the x-soar-secret header (read from server.intake_secret). */
  intakeSecret: string;
  auditKey: Buffer | undefined;
  logger?: Logger;
}

/** soar serve's HTTP API: intake, runs, decisions, audit export and health. Listening is the caller's. */
export function buildServer(options: ServerOptions): FastifyInstance {
  const { config, runtime, scheduler, logger } = options;
  const app = Fastify({ logger: false, bodyLimit: config.server.body_limit, onProtoPoisoning: 'error', onConstructorPoisoning: 'error', return503OnClosing: true });

  app.setErrorHandler((error, request, reply) => {
    // fastify's own refusals (413 too large, 400 bad JSON, 415 media type) carry their status.
    const own = (error as { statusCode?: number }).statusCode;
    const status = own !== undefined && own >= 400 && own < 500 ? own : httpStatusOf(error);
    if (status >= 500) logger?.error({ err: error, url: { path: request.url } }, 'request failed');
    const body = own !== undefined && status === own ? { error: { code: (error as { code?: string }).code ?? 'BAD_REQUEST', message: (error as Error).message } } : errorBody(error);
    return reply.code(status).send(body);
  });

  app.get('/healthz', async () => ({ ok: true, ...scheduler.stats() }));
  intakeRoute(app, { config, store: runtime.store, playbook: options.playbook, scheduler, intakeSecret: options.intakeSecret });
  runsRoutes(app, { config, runtime, scheduler, auditKey: options.auditKey });
  registerConsole(app);
  return app;
}
