import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { DEFAULT_PLAYBOOK } from '../../../src/cli/defaults.js';
import type { Config } from '../../../src/config/config.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { SshFleet } from '../../../src/transport/ssh/fleet.js';
import { readFixture, sourceOf, webhookBody } from '../alert/example.js';
import { gatedPlaybook, hostName, INTAKE_SECRET, kibanaBody, noHosts, openService, post, serviceConfig, type Service } from './service.js';

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

const tempDir = () => mkdtempSync(join(tmpdir(), 'soar-serve-intake-'));
const secret = { 'x-soar-secret': INTAKE_SECRET };
const alert = (n: number, host = hostName(0)) => ({ uuid: n.toString(16).padStart(64, '0'), host });

async function gatedService(config: Config = serviceConfig(3)): Promise<Service> {
  const dir = tempDir();
  const service = await openService({ file: join(dir, 'soar.db'), config, playbook: await gatedPlaybook(dir), hosts: noHosts });
  open.push(service);
  return service;
}

/** A dead host: accepts TCP connections and never says a word (no SSH banner). */
async function tarpit(): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => { for (const socket of sockets) socket.destroy(); server.close(() => resolve()); }) });
  return (server.address() as AddressInfo).port;
}

/** The ungated mining playbook over a real SSH fleet: triage connects at once. */
async function fleetService(config: Config, dir: string): Promise<Service> {
  writeFileSync(join(dir, 'known_hosts'), '');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')]);
  const fleet = new SshFleet({ ...config, baseDir: dir });
  open.push(fleet);
  const service = await openService({ file: join(dir, 'soar.db'), config: { ...config, baseDir: dir }, playbook: await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS), hosts: fleet });
  open.push(service);
  return service;
}

const kinds = (service: Service, run: string) => service.store.auditRecords(run).map((record) => record.kind);

describe('POST /api/alerts refuses what it must not take, saying why', () => {
  it('401 without the shared secret or with a wrong one; nothing is stored', async () => {
    const service = await gatedService();
    expect(await post(`${service.url}/api/alerts`, kibanaBody([alert(1)]))).toMatchObject({ status: 401, body: { error: { code: 'INTAKE_UNAUTHENTICATED' } } });
    expect((await post(`${service.url}/api/alerts`, kibanaBody([alert(1)]), { 'x-soar-secret': `${INTAKE_SECRET}x` })).status).toBe(401);
    expect((await post(`${service.url}/api/alerts`, kibanaBody([alert(1)]), { 'x-soar-secret': '' })).status).toBe(401);
    expect(service.store.runs()).toEqual([]);
  });

  it('400 for bad JSON and for invalid fields, naming the JSON path; a body is taken whole or not at all', async () => {
    const service = await gatedService();
    expect(await post(`${service.url}/api/alerts`, '{"alerts": [', secret)).toMatchObject({ status: 400 });
    const hostile = kibanaBody([alert(1), alert(2, 'web-001;reboot')]);
    const refused = await post(`${service.url}/api/alerts`, hostile, secret);
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'INVALID_FIELD', field: expect.stringContaining('alerts[1]') } } });
    const notAnAlert = await post(`${service.url}/api/alerts`, { alerts: [] }, secret);
    expect(notAnAlert).toMatchObject({ status: 400, body: { error: { code: 'ALERT_INVALID', field: 'alerts' } } });
    expect(service.store.runs()).toEqual([]);
    expect(service.store.auditRecords('-').map((record) => record.kind)).toEqual(['input.refused', 'input.refused']);
  });

  it('422 for an alert the playbook does not take (with the reasons) and for a host outside the inventory', async () => {
    const service = await gatedService();
    const other = await post(`${service.url}/api/alerts`, webhookBody([sourceOf(readFixture('kibana-8.1-linux-host-other-rule.hit.json'))]), secret);
    expect(other).toMatchObject({ status: 422, body: { error: { code: 'ALERT_NOT_TAKEN', reasons: expect.arrayContaining([expect.any(String)]) } } });
    const stranger = await post(`${service.url}/api/alerts`, kibanaBody([alert(3, 'db-99')]), secret);
    expect(stranger).toMatchObject({ status: 422, body: { error: { code: 'HOST_NOT_IN_INVENTORY', message: expect.stringContaining('db-99') } } });
    expect(service.store.runs()).toEqual([]);
  });

  it('413 for a body over server.body_limit', async () => {
    const service = await gatedService(serviceConfig(1, {}, { body_limit: 4096 }));
    const big = kibanaBody([alert(1)]);
    Object.assign(big, { padding: 'x'.repeat(8192) });
    expect(await post(`${service.url}/api/alerts`, big, secret)).toMatchObject({ status: 413 });
    expect((await post(`${service.url}/api/alerts`, kibanaBody([alert(1)]), secret)).status).toBe(202);
  });
});

describe('scheduling', () => {
  it('429 with Retry-After when the queue is full (a dead host holds the only slot); the queued run is not lost', { timeout: 30_000 }, async () => {
    const port = await tarpit();
    const dir = tempDir();
    const config = serviceConfig(3, { port, identity_file: 'id_ed25519', connect_timeout: 3000 }, { max_concurrent_runs: 1, queue_limit: 1 });
    const service = await fleetService(config, dir);
    const first = await post(`${service.url}/api/alerts`, kibanaBody([alert(1, hostName(0))]), secret);
    const second = await post(`${service.url}/api/alerts`, kibanaBody([alert(2, hostName(1))]), secret);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(service.scheduler.stats()).toMatchObject({ driving: 1, queued: 1 });
    const third = await post(`${service.url}/api/alerts`, kibanaBody([alert(3, hostName(2))]), secret);
    expect(third).toMatchObject({ status: 429, body: { error: { code: 'QUEUE_FULL' } } });
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(service.store.runs().map((run) => run.host)).toEqual([hostName(0), hostName(1)]);
  });

  it('a dead host does not hold up another host: its run waits on the connection while the other finishes its step', { timeout: 30_000 }, async () => {
    const port = await tarpit();
    const dir = tempDir();
    const base = serviceConfig(2, { port, identity_file: 'id_ed25519', connect_timeout: 4000 }, { max_concurrent_runs: 4 });
    // web-001 is at port 1 of 127.0.0.1, where nothing listens: refused at once.
    const config: Config = { ...base, hosts: { ...base.hosts, [hostName(1)]: { ...base.hosts[hostName(0)]!, port: 1 } } };
    const service = await fleetService(config, dir);
    const dead = (await post(`${service.url}/api/alerts`, kibanaBody([alert(1, hostName(0))]), secret)).body.runs[0].run;
    const refused = (await post(`${service.url}/api/alerts`, kibanaBody([alert(2, hostName(1))]), secret)).body.runs[0].run;
    const started = Date.now();
    while (!kinds(service, refused).some((kind) => kind === 'step.failed' || kind === 'step.unknown')) {
      expect(Date.now() - started, 'the refused host never got its answer').toBeLessThan(5000);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(kinds(service, dead)).toContain('step.started');
    expect(kinds(service, dead).filter((kind) => kind.startsWith('step.') && kind !== 'step.started')).toEqual([]);
    expect(service.scheduler.stats().driving).toBeGreaterThanOrEqual(1);
  });
});
