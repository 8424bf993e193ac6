import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { DEFAULT_PLAYBOOK } from '../../../src/cli/defaults.js';
import { defaultConfig, type Config } from '../../../src/config/config.js';
import { Runtime } from '../../../src/engine/runtime.js';
import { buildPlan, type Plan } from '../../../src/plan/plan.js';
import { loadPlaybook, type Playbook } from '../../../src/playbook/load.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { SshFleet } from '../../../src/transport/ssh/fleet.js';
import { exampleHit } from '../alert/example.js';
import { startFakeKibana, type FakeKibana } from '../../support/kibana-server.js';

const AUTH = 'ApiKey c29hcjpraWJhbmEtdGVzdA==';
const LATER = () => new Date(Date.now() + 24 * 3_600_000);

/** A port nobody listens on (and an identity file that is no key): triage fails at once and the run escalates. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let kibana: FakeKibana;
let dir: string;
let playbook: Playbook;
let port: number;
const fleets: SshFleet[] = [];

beforeEach(async () => {
  kibana = await startFakeKibana({ authorization: AUTH });
  dir = mkdtempSync(join(tmpdir(), 'soar-kibana-'));
  writeFileSync(join(dir, 'known_hosts'), '');
  writeFileSync(join(dir, 'id_ed25519'), 'not a key');
  process.env.SOAR_TEST_KIBANA_AUTH = AUTH;
  playbook = await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS);
  port = await closedPort();
});
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((fleet) => fleet.close()));
  await kibana.close();
});

function setup(kibanaConfig: Partial<NonNullable<Config['escalation']['kibana']>> = {}, options: { webhook?: string; runWith?: (config: Config) => Config } = {}) {
  const config: Config = {
    ...defaultConfig(),
    baseDir: dir,
    hosts: { 'web-01': { address: '127.0.0.1', port, user: 'root', identity_file: 'id_ed25519', max_sessions: 4, connect_timeout: 2_000 } },
    escalation: {
      kibana: { url: kibana.url, space: 'soc', auth: { env: 'SOAR_TEST_KIBANA_AUTH' }, ...kibanaConfig },
      ...(options.webhook ? { webhook: { url: options.webhook, headers: {} } } : {}),
    },
  };
  const plan: Plan = buildPlan({ alert: parseAlerts(exampleHit())[0]!, playbook, config, actions: ACTIONS });
  const store = new SqliteStore(join(dir, 'soar.db'));
  const runConfig = options.runWith?.(config) ?? config;
  const fleet = new SshFleet(runConfig);
  fleets.push(fleet);
  const runtime = new Runtime({ store, config: runConfig, actions: ACTIONS, hosts: fleet });
  runtime.start(plan, playbook);
  return { plan, store, runtime };
}

/** Drives a run, firing its retry deadlines as if the time had come, until it finishes. */
async function driveToEnd(runtime: Runtime, runId: string): Promise<string> {
  for (let round = 0; round < 10; round++) {
    const status = await runtime.drive(runId);
    if (status !== 'waiting') return status;
    runtime.fireDeadlines(LATER(), { run: runId });
  }
  throw new Error('the run did not finish in 10 rounds');
}

describe('escalation to Kibana through the durable runtime', () => {
  it('plans the four Kibana requests, under the space', () => {
    const { plan } = setup();
    const escalate = plan.steps.find((step) => step.id === 'escalate')!;
    expect(escalate.commands.map((command) => (command.where === 'http' ? command.request.url.replace(kibana.url, '') : command.where))).toEqual([
      '/s/soc/api/cases',
      '/s/soc/api/cases/{case_id}/comments',
      '/s/soc/api/cases/{case_id}/comments',
      '/s/soc/api/detection_engine/signals/status',
    ]);
  });

  it('a run that escalates opens one case with the alert and the timeline, and acknowledges the alert', async () => {
    const { plan, store, runtime } = setup();
    expect(await driveToEnd(runtime, plan.runId)).toBe('done');

    expect(kibana.cases).toHaveLength(1);
    const [opened] = kibana.cases;
    expect(opened).toMatchObject({ space: 'soc', owner: 'securitySolution', settings: { syncAlerts: true }, tags: ['soar', 'mining-service', 'not_triaged', `soar-${plan.runId}`] });
    expect(opened!.title).toMatch(/^c3pool_miner\.service on /);
    expect(opened!.description).toMatch(/^```text\nsoar run run-[0-9a-f]{16}: step_failed\n/);
    expect(opened!.comments).toEqual([
      expect.objectContaining({ type: 'alert', alertId: plan.alert.id, index: '.internal.alerts-security.alerts-default-000001', rule: { id: '5d1c3b0e-0a1b-11ef-9a3e-1d2c3b4a5f60', name: 'Suspicious Mining Process Creation Event' } }),
      expect.objectContaining({ type: 'user', comment: expect.stringMatching(new RegExp(`^soar timeline of ${plan.runId} \\(step_failed\\):[\\s\\S]*triage +FAILED`)) }),
    ]);
    expect(kibana.statusUpdates).toEqual([{ space: 'soc', signal_ids: [plan.alert.id], status: 'acknowledged' }]);

    const records = store.auditRecords(plan.runId);
    expect(records.filter((record) => record.kind === 'kibana.delivered').map((record) => (record.data as { request: string }).request)).toEqual(['case', 'alert', 'timeline', 'status']);
    expect(records.filter((record) => record.kind === 'kibana.returned').map((record) => (record.data as { status: number }).status)).toEqual([200, 200, 200, 200]);
    expect(records.filter((record) => record.kind === 'case.built')).toHaveLength(1);
    // The credential never reaches the trail.
    expect(JSON.stringify(records)).not.toContain(AUTH.split(' ')[1]);
  });

  it('a Kibana outage fails the step; its durable retry adds to the case already opened, never a second one', async () => {
    const { plan, store, runtime } = setup();
    // The case is opened, then Kibana goes down for every attempt the client makes at the attachment.
    kibana.failNext(3, 503, undefined, 1);
    expect(await driveToEnd(runtime, plan.runId)).toBe('done');

    expect(kibana.cases).toHaveLength(1);
    expect(kibana.cases[0]!.comments.map((comment) => comment.type)).toEqual(['alert', 'user']);
    expect(kibana.statusUpdates).toHaveLength(1);
    const kinds = store.auditRecords(plan.runId).map((record) => `${record.kind}${record.kind === 'step.failed' ? `:${(record.data as { code: string }).code}` : ''}`);
    expect(kinds).toContain('step.failed:KIBANA_UNAVAILABLE');
    expect(kinds).toContain('retry.scheduled');
    expect(kibana.requests.filter((request) => request.path === '/s/soc/api/cases')).toHaveLength(1);
  });

  it('a lost answer to opening the case: the retried step finds that case by its run tag and opens no second one', async () => {
    const { plan, store, runtime } = setup();
    kibana.loseAnswers(1);
    expect(await driveToEnd(runtime, plan.runId)).toBe('done');
    expect(kibana.cases).toHaveLength(1);
    expect(kibana.cases[0]!.comments.map((comment) => comment.type)).toEqual(['alert', 'user']);
    expect(kibana.requests.map((request) => `${request.method} ${request.path.split('?')[0]} ${request.status}`).slice(0, 3)).toEqual(['POST /s/soc/api/cases 0', 'GET /s/soc/api/cases/_find 200', `POST /s/soc/api/cases/${kibana.cases[0]!.id}/comments 200`]);
    const delivered = store.auditRecords(plan.runId).filter((record) => record.kind === 'kibana.delivered').map((record) => record.data);
    expect(delivered[0]).toMatchObject({ request: 'case', caseId: kibana.cases[0]!.id });
  });

  it('a permanent refusal is not retried: the step fails with what to fix, and nothing more is sent', async () => {
    process.env.SOAR_TEST_KIBANA_AUTH = 'ApiKey d3Jvbmc=';
    const { plan, store, runtime } = setup();
    expect(await driveToEnd(runtime, plan.runId)).toBe('failed');
    expect(kibana.requests).toEqual([{ method: 'POST', path: '/s/soc/api/cases', status: 401 }]);
    const failed = store.auditRecords(plan.runId).filter((record) => record.kind === 'step.failed').at(-1)!.data as { code: string; message: string; retryable: boolean };
    expect(failed).toMatchObject({ code: 'KIBANA_REFUSED', retryable: false });
    expect(failed.message).toMatch(/401.*escalation\.kibana\.auth/);
  });

  it('the configured alert index wins over the alert\'s own', async () => {
    const { plan, runtime } = setup({ alert_index: '.alerts-security.alerts-soc' });
    await driveToEnd(runtime, plan.runId);
    expect(kibana.cases[0]!.comments[0]).toMatchObject({ type: 'alert', alertId: plan.alert.id, index: '.alerts-security.alerts-soc' });
  });

  it('the SOC webhook still receives the case when Kibana is configured too', async () => {
    const received: unknown[] = [];
    const webhook = createHttpServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        received.push(JSON.parse(body));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    try {
      const { plan, store, runtime } = setup({}, { webhook: `http://127.0.0.1:${(webhook.address() as { port: number }).port}/hook` });
      expect(plan.steps.at(-1)!.commands).toHaveLength(5);
      expect(await driveToEnd(runtime, plan.runId)).toBe('done');
      expect(received).toEqual([expect.objectContaining({ source: 'soar', runId: plan.runId, status: 'step_failed' })]);
      expect(kibana.cases).toHaveLength(1);
      const result = store.auditRecords(plan.runId).find((record) => record.kind === 'step.result' && (record.data as { step: string }).step === 'escalate')!.data as { evidence: { responses: unknown[] } };
      expect(result.evidence.responses).toHaveLength(5);
    } finally {
      await new Promise<void>((resolve) => webhook.close(() => resolve()));
    }
  });

  it('a plan made for Kibana is not sent anywhere else when Kibana left the config', async () => {
    const { plan, store, runtime } = setup({}, { runWith: (config) => ({ ...config, escalation: {} }) });
    expect(await driveToEnd(runtime, plan.runId)).toBe('failed');
    expect(kibana.requests).toEqual([]);
    const failed = store.auditRecords(plan.runId).filter((record) => record.kind === 'step.failed').at(-1)!.data;
    expect(failed).toMatchObject({ code: 'KIBANA_NOT_CONFIGURED', retryable: false });
  });
});
