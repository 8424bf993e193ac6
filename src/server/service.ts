import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.js';
import type { Runtime } from '../engine/runtime.js';
import type { Logger } from '../log.js';
import type { Playbook } from '../playbook/load.js';
import { Scheduler } from './scheduler.js';
import { buildServer } from './server.js';

export interface ServiceParts {
  config: Config;
  runtime: Runtime;
  playbook: Playbook;
  intakeSecret: string;
  auditKey: Buffer | undefined;
  logger?: Logger;
  /** Overrides config.server.listen (tests listen on port 0). */
  listen?: { host: string; port: number };
  tickMs?: number;
}

export interface RunningService {
  url: string;
  scheduler: Scheduler;
  /**
   * Graceful shutdown: stop accepting (requests under way finish, and what they admitted is
   * already stored), then let drives under way reach a committed point, for up to graceMs.
   * Says whether every drive settled in time; the store and fleet are the caller's to close.
   */
  stop(graceMs: number): Promise<boolean>;
}

/** soar serve: takes up the store's active runs, then listens for alerts and decisions. */
export async function startService(parts: ServiceParts): Promise<RunningService> {
  const { config, runtime, logger } = parts;
  const scheduler = new Scheduler({ runtime, maxConcurrentRuns: config.server.max_concurrent_runs, queueLimit: config.server.queue_limit, logger, ...(parts.tickMs ? { tickMs: parts.tickMs } : {}) });
  scheduler.start();
  const app = buildServer({ config, runtime, playbook: parts.playbook, scheduler, intakeSecret: parts.intakeSecret, auditKey: parts.auditKey, logger });
  const listen = parts.listen ?? config.server.listen;
  try {
    await app.listen({ host: listen.host, port: listen.port });
  } catch (error) {
    await scheduler.stop(0);
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    scheduler,
    stop: async (graceMs) => {
      // A keep-alive connection whose request was under way when closing began goes idle after
      // it, and would hold close() for the keep-alive timeout (72 s): close each as it goes idle.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
      return scheduler.stop(graceMs);
    },
  };
}
