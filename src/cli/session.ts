import { ACTIONS } from '../actions/registry.js';
import { auditKey } from '../audit/key.js';
import { storePath, type Config } from '../config/config.js';
import { Runtime, type ProgressEvent } from '../engine/runtime.js';
import { createLogger } from '../log.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { SshFleet } from '../transport/ssh/fleet.js';
import { configFrom } from './defaults.js';

/** What a command that touches runs needs: config, store, SSH fleet and the runtime over them. */
export interface Session {
  config: Config;
  store: Store;
  runtime: Runtime;
  close(): Promise<void>;
}

export async function openSession(options: { config?: string; store?: string; progress?: (event: ProgressEvent) => void }): Promise<Session> {
  const { config } = await configFrom(options.config);
  const store = new SqliteStore(storePath(config, options.store), { key: await auditKey(config) });
  // Progress goes to the terminal; the operational log only says what needs an operator's eye.
  const logger = createLogger({ level: process.env.SOAR_LOG_LEVEL || 'warn' });
  const fleet = new SshFleet(config, { logger });
  const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: fleet, progress: options.progress, logger });
  return {
    config,
    store,
    runtime,
    close: async () => {
      await fleet.close();
      store.close();
    },
  };
}
