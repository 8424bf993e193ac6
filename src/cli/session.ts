import { ACTIONS } from '../actions/registry.js';
import type { Config } from '../config/config.js';
import { Runtime, type ProgressEvent } from '../engine/runtime.js';
import { Store } from '../store/store.js';
import { SshFleet } from '../transport/ssh/fleet.js';
import { configFrom, storePath } from './defaults.js';

/** What a command that touches runs needs: config, store, SSH fleet and the runtime over them. */
export interface Session {
  config: Config;
  store: Store;
  runtime: Runtime;
  close(): Promise<void>;
}

export async function openSession(options: { config?: string; store?: string; progress?: (event: ProgressEvent) => void }): Promise<Session> {
  const { config } = await configFrom(options.config);
  const store = new Store(storePath(options.store));
  const fleet = new SshFleet(config);
  const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: fleet, progress: options.progress });
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
