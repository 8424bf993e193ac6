import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import type { Lab } from '../lab/lab.js';
import { exampleHit, setField, sourceOf } from '../unit/alert/example.js';

export const SOAR_BIN = fileURLToPath(new URL('../../bin/soar.js', import.meta.url));

/** A SOC webhook: a real HTTP server that insists on its bearer token, and keeps what it got. */
export interface Webhook {
  url: string;
  token: string;
  cases: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startWebhook(token: string): Promise<Webhook> {
  const cases: Array<Record<string, unknown>> = [];
  const read = async (request: IncomingMessage) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    return body;
  };
  const server: Server = createServer(async (request, response) => {
    const body = await read(request);
    if (request.method !== 'POST' || request.url !== '/hooks/soar') return void response.writeHead(404).end();
    if (request.headers.authorization !== `Bearer ${token}`) return void response.writeHead(401).end('bad token');
    if (request.headers['content-type'] !== 'application/json') return void response.writeHead(415).end();
    cases.push(JSON.parse(body) as Record<string, unknown>);
    response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `case-${cases.length}` }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/soar`, token, cases, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The lab's inventory plus what a SOC adds: approvers and the escalation webhook. */
export async function writeSoarConfig(lab: Lab, webhook: Webhook | undefined): Promise<string> {
  const inventory = parse(await readFile(lab.configPath, 'utf8')) as Record<string, unknown>;
  const config = {
    ...inventory,
    approvers: { 'demo-analyst': { roles: ['responder'] }, 'second-analyst': { roles: ['responder'] } },
    ...(webhook ? { escalation: { webhook: { url: webhook.url, headers: { Authorization: { env: 'SOAR_TEST_WEBHOOK_AUTH' } } } } } : {}),
  };
  const file = join(lab.dir, 'soar.yaml');
  await writeFile(file, stringify(config));
  return file;
}

let alertsWritten = 0;

/** The example alert's hit, about `host`, with a unique id and `fields` set. */
function alertHit(lab: Lab, host: string, fields: Record<string, unknown>): { id: string; hit: ReturnType<typeof exampleHit> } {
  const hit = exampleHit();
  const id = createHash('sha256').update(`${lab.dir} ${host} ${(alertsWritten += 1)}`).digest('hex');
  hit._id = id;
  for (const [field, value] of Object.entries({ 'host.name': host, 'kibana.alert.uuid': id, ...fields })) setField(sourceOf(hit), field, value);
  return { id, hit };
}

/** The example alert, about a lab host, as a new alert (its own id), written to a file. */
export async function writeAlert(lab: Lab, host: string, fields: Record<string, unknown> = {}): Promise<string> {
  const { id, hit } = alertHit(lab, host, fields);
  const file = join(lab.dir, `alert-${id.slice(0, 12)}.json`);
  await writeFile(file, JSON.stringify(hit));
  return file;
}

/** One file with an alert per entry, as a search response (what soar run takes for a fleet). */
export async function writeAlerts(lab: Lab, alerts: Array<{ host: string; fields?: Record<string, unknown> }>): Promise<string> {
  const made = alerts.map(({ host, fields }) => alertHit(lab, host, fields ?? {}));
  const file = join(lab.dir, `alerts-${made[0]?.id.slice(0, 12) ?? 'none'}-${made.length}.json`);
  await writeFile(file, JSON.stringify({ hits: { total: { value: made.length }, hits: made.map(({ hit }) => hit) } }));
  return file;
}

export async function soar(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [SOAR_BIN, ...args], { reject: false, env: { ...env, SOAR_CONFIG: '' }, stdin: 'ignore' });
}

/** The stdout of a program run inside a lab host (no SSH), failing loudly if it failed. */
export async function onHost(lab: Lab, host: string, script: string): Promise<string> {
  const result = await lab.exec(host, ['sh', '-c', script]);
  if (result.exitCode !== 0) throw new Error(`on ${host}: ${script}: exit ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

/** Whether a new TCP connection from a namespace to an address and port gets through. */
export async function tcpConnects(netns: string, address: string, port: number): Promise<boolean> {
  const attempt = await execa('ip', ['netns', 'exec', netns, 'timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`], { reject: false });
  return attempt.exitCode === 0;
}

/** Polls until `probe` returns a value (real hosts take their time), or fails naming what never came. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
