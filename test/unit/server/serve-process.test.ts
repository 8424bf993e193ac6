import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { gatedPlaybook, hostName, INTAKE_SECRET, kibanaBody, TOKENS } from './service.js';

const VITE_NODE = fileURLToPath(new URL('../../../node_modules/.bin/vite-node', import.meta.url));
const MAIN = fileURLToPath(new URL('./soar-main.ts', import.meta.url));
const HOSTS = 10;
const ALERTS = 60;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function writeConfig(dir: string): string {
  const hosts = Array.from({ length: HOSTS }, (_, index) => `  ${hostName(index)}: { address: 127.0.0.1, port: 1 }`).join('\n');
  const file = join(dir, 'soar.yaml');
  writeFileSync(
    file,
    `known_hosts: known_hosts
store: soar.db
hosts:
${hosts}
approvers:
  alice: { roles: [responder], token_sha256: ${sha256(TOKENS.alice)} }
  bob: { roles: [lead], token_sha256: ${sha256(TOKENS.bob)} }
server:
  listen: { host: 127.0.0.1, port: 0 }
  intake_secret: { env: SOAR_TEST_INTAKE_SECRET }
`,
  );
  writeFileSync(join(dir, 'known_hosts'), '');
  return file;
}

/** Starts `soar serve` and waits for the line that says where it listens. */
async function serve(config: string, playbook: string): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(VITE_NODE, [MAIN, 'serve', '--config', config, '--playbook', playbook], { env: { ...process.env, SOAR_TEST_INTAKE_SECRET: INTAKE_SECRET, SOAR_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`soar serve did not start: ${stderr}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', () => reject(new Error(`soar serve exited: ${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

const alertOf = (index: number) => ({ uuid: sha256(`process alert ${index}`), host: hostName(index % HOSTS) });

async function postAlert(url: string, index: number): Promise<number | 'refused'> {
  try {
    const response = await fetch(`${url}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-soar-secret': INTAKE_SECRET }, body: JSON.stringify(kibanaBody([alertOf(index)])), signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 'refused';
  }
}

it('soar serve: SIGTERM in the middle of a burst loses no accepted alert; a restart takes every alert once', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soar-serve-process-'));
  const config = writeConfig(dir);
  const playbook = (await gatedPlaybook(dir)).file;

  const first = await serve(config, playbook);
  expect((await fetch(`${first.url}/healthz`).then((response) => response.json())) as object).toMatchObject({ ok: true });
  const inFlight = Array.from({ length: ALERTS }, (_, index) => postAlert(first.url, index));
  await inFlight[5];
  first.child.kill('SIGTERM');
  const statuses = await Promise.all(inFlight);
  expect(await first.exited).toBe(0);
  expect(first.stderr()).toContain('stopping (SIGTERM)');

  const accepted = statuses.flatMap((status, index) => (status === 202 ? [alertOf(index).uuid] : []));
  expect(accepted.length).toBeGreaterThan(5);
  console.log(`SIGTERM mid-burst: ${accepted.length} of ${ALERTS} accepted, ${statuses.filter((status) => status === 503).length} answered 503, ${statuses.filter((status) => status === 'refused').length} found the port closed`);
  // Anything not accepted was told so (503 while closing, or no connection): Kibana retries those.
  expect(statuses.every((status) => status === 202 || status === 503 || status === 'refused')).toBe(true);
  const stored = () => {
    const store = new SqliteStore(join(dir, 'soar.db'));
    try {
      const joined = store.auditRecords().filter((record) => record.kind === 'alert.joined').map((record) => (record.data as { alert: string }).alert);
      return { runs: store.runs(), alerts: [...store.runs().map((run) => run.alertId), ...joined] };
    } finally {
      store.close();
    }
  };
  expect(stored().alerts).toEqual(expect.arrayContaining(accepted));

  // Kibana sends everything again (the accepted ones too): each alert is taken exactly once.
  const second = await serve(config, playbook);
  const again = await Promise.all(Array.from({ length: ALERTS }, (_, index) => postAlert(second.url, index)));
  expect(again.every((status) => status === 202)).toBe(true);
  const runs = await fetch(`${second.url}/api/runs`, { headers: { authorization: `Bearer ${TOKENS.alice}` } }).then((response) => response.json() as Promise<{ runs: Array<{ host: string; pending: string[] }> }>);
  expect(runs.runs).toHaveLength(HOSTS);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  const { runs: finalRuns, alerts } = stored();
  expect(new Set(finalRuns.map((run) => run.host)).size).toBe(HOSTS);
  expect(alerts).toHaveLength(ALERTS);
  expect(new Set(alerts)).toEqual(new Set(Array.from({ length: ALERTS }, (_, index) => alertOf(index).uuid)));
});
