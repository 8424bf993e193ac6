import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIONS } from '../../../src/actions/registry.js';
import { DEFAULT_PLAYBOOK } from '../../../src/cli/defaults.js';
import { defaultConfig, type Config, type HostEntry } from '../../../src/config/config.js';
import { Runtime, type Hosts } from '../../../src/engine/runtime.js';
import { loadPlaybook, type Playbook } from '../../../src/playbook/load.js';
import type { Scheduler } from '../../../src/server/scheduler.js';
import { startService } from '../../../src/server/service.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { exampleHit, setField, sourceOf, webhookBody } from '../alert/example.js';

export const INTAKE_SECRET = 'kibana-connector-secret-4b1d';
export const TOKENS = { alice: 'alice-api-token-7f3a9c21e5', bob: 'bob-api-token-0d82b6e4aa', carol: 'carol-api-token-5c19f0d7b3' } as const;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function hostName(index: number): string {
  return `web-${String(index).padStart(3, '0')}`;
}

/** An inventory of `count` hosts, three analysts with API tokens (carol only observes). */
export function serviceConfig(count: number, host: Partial<HostEntry> = {}, server: Partial<Config['server']> = {}): Config {
  const base = defaultConfig();
  const entry: HostEntry = { address: '127.0.0.1', port: 1, user: 'root', max_sessions: 4, connect_timeout: 10_000, ...host };
  return {
    ...base,
    hosts: Object.fromEntries(Array.from({ length: count }, (_, index) => [hostName(index), entry])),
    approvers: {
      alice: { roles: ['responder'], token_sha256: sha256(TOKENS.alice) },
      bob: { roles: ['lead'], token_sha256: sha256(TOKENS.bob) },
      carol: { roles: ['observer'], token_sha256: sha256(TOKENS.carol) },
    },
    server: { ...base.server, ...server },
  };
}

/** The mining playbook with a four-eyes gate (2 of responder or lead) in front of triage: no host is contacted before it opens. */
export async function gatedPlaybook(dir: string): Promise<Playbook> {
  const file = join(dir, 'four-eyes.yaml');
  const text = readFileSync(DEFAULT_PLAYBOOK, 'utf8').replace('    action: triage\n', '    action: triage\n    approval: { count: 2, roles: [responder, lead], expires: 1h }\n');
  writeFileSync(file, text);
  return loadPlaybook(file, ACTIONS);
}

/** A Kibana webhook body (context.alerts.asJSON) with one alert per [alert uuid, host] pair. */
export function kibanaBody(alerts: Array<{ uuid: string; host: string; unit?: string }>): Record<string, unknown> {
  return webhookBody(
    alerts.map(({ uuid, host, unit }) => {
      const source = sourceOf(exampleHit());
      setField(source, 'kibana.alert.uuid', uuid);
      setField(source, 'host.name', host);
      if (unit !== undefined) {
        setField(source, 'file.name', unit);
        setField(source, 'file.path', `/etc/systemd/system/${unit}`);
      }
      return source;
    }),
  );
}

export interface Service {
  url: string;
  store: SqliteStore;
  runtime: Runtime;
  scheduler: Scheduler;
  close(): Promise<void>;
}

/** soar serve's parts over a real SQLite file, listening on 127.0.0.1. */
export async function openService(options: { file: string; config: Config; playbook: Playbook; hosts: Hosts }): Promise<Service> {
  const { config, playbook } = options;
  const store = new SqliteStore(options.file);
  const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: options.hosts });
  const service = await startService({ config, runtime, playbook, intakeSecret: INTAKE_SECRET, auditKey: undefined, listen: { host: '127.0.0.1', port: 0 }, tickMs: 50 });
  return {
    url: service.url,
    store,
    runtime,
    scheduler: service.scheduler,
    close: async () => {
      await service.stop(10_000);
      store.close();
    },
  };
}

/** Gates need no host: nothing may be sent anywhere while a run waits for its decision. */
export const noHosts: Hosts = {
  transport: () => {
    throw new Error('no host may be contacted while a gate is closed');
  },
  probe: async () => {
    throw new Error('no host may be contacted while a gate is closed');
  },
};

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}
