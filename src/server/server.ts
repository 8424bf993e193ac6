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
    const status = httpStatusOf(error);
    if (status >= 500) logger?.error({ err: error, url: { path: request.url } }, 'request failed');
    if (status === 401) logger?.warn({ url: { path: request.url }, client: { address: request.ip } }, 'unauthenticated request refused');
    return reply.code(status).send(errorBody(error));
  });

  app.get('/healthz', async () => ({ ok: true, ...scheduler.stats() }));
  intakeRoute(app, { config, store: runtime.store, playbook: options.playbook, scheduler, intakeSecret: options.intakeSecret });
  runsRoutes(app, { config, runtime, scheduler, auditKey: options.auditKey });
  registerConsole(app);
  return app;
}
