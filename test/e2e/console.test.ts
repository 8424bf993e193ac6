import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startLab, type Lab, type LabHost } from '../lab/lab.js';
import { exampleHit, setField, sourceOf, webhookBody } from '../unit/alert/example.js';
import { eventually, onHost, SOAR_BIN, startWebhook, writeSoarConfig, type Webhook } from './support.js';

const LAB_ID = 10;
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const INTAKE_SECRET = 'console-e2e-intake-secret-61c0';
const TOKENS = { responder: 'responder-console-token-9a4e27', observer: 'observer-console-token-3b7d10' } as const;
const WEBHOOK_TOKEN = 'console-e2e-webhook-token';
/** Markup in an alert field that reaches the page: run as HTML, it would create an element and set a flag. */
const HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const UNIT = 'c3pool_miner.service';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let lab: Lab;
let webhook: Webhook;
let target: LabHost;
let serve: ResultPromise;
let serveLog = '';
let url: string;
let browser: Browser;
/** Script errors on any console page: there must be none. */
const pageErrors: string[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The lab's soar config plus what soar serve needs: analysts' token hashes, the listen address, the intake secret. */
async function writeServeConfig(port: number): Promise<string> {
  const file = await writeSoarConfig(lab, webhook);
  const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  config.approvers = {
    'demo-analyst': { roles: ['responder'], token_sha256: sha256(TOKENS.responder) },
    'watching-analyst': { roles: ['observer'], token_sha256: sha256(TOKENS.observer) },
  };
  config.server = { listen: { host: '127.0.0.1', port }, intake_secret: { env: 'SOAR_TEST_INTAKE_SECRET' } };
  config.store = 'soar.db';
  writeFileSync(file, stringify(config));
  return file;
}

/** A fresh browser context (its own sessionStorage) on the console, with the analyst's token pasted in. */
async function openConsole(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1100 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${url}/console`);
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
  return page;
}

const CHROMIUM = '/usr/bin/chromium';
const screenshot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

/** Debian's chromium, installed the first time as the lab installs its packages (a fresh machine has none). */
async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  await execa('apt-get', ['update', '-qq']);
  await execa('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [lab, webhook] = await Promise.all([startLab({ hosts: 1, lab: LAB_ID }), startWebhook(WEBHOOK_TOKEN), ensureChromium()]);
  target = lab.hosts[0]!;
  await lab.infect(target.name, UNIT);
  const port = await freePort();
  const config = await writeServeConfig(port);
  url = `http://127.0.0.1:${port}`;
  serve = execa(process.execPath, [SOAR_BIN, 'serve', '--config', config], {
    reject: false,
    stdin: 'ignore',
    all: true,
    env: { SOAR_CONFIG: '', SOAR_TEST_INTAKE_SECRET: INTAKE_SECRET, SOAR_TEST_WEBHOOK_AUTH: `Bearer ${WEBHOOK_TOKEN}` },
  });
  serve.all?.on('data', (chunk: Buffer) => (serveLog += chunk.toString()));
  await eventually(`soar serve listening on ${url} (log: ${serveLog})`, async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 30_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  if (serve) {
    serve.kill('SIGTERM');
    await Promise.race([serve, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    serve.kill('SIGKILL');
  }
  await Promise.all([lab?.down(), webhook?.close()]);
}, 120_000);

/** Kibana's webhook body for the example alert about the lab host, its writer's command line hostile. */
async function postAlert(): Promise<string> {
  const source = sourceOf(exampleHit());
  setField(source, 'kibana.alert.uuid', sha256(`${lab.dir} console`));
  setField(source, 'host.name', target.name);
  setField(source, 'process.command_line', HOSTILE);
  const response = await fetch(`${url}/api/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-soar-secret': INTAKE_SECRET },
    body: JSON.stringify(webhookBody([source])),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { runs: Array<{ run: string; created: boolean }> };
  expect(response.status, JSON.stringify(body)).toBe(202);
  expect(body.runs).toHaveLength(1);
  return body.runs[0]!.run;
}

/** Every miner process on the host, found by the kernel's view of their executables. */
const minerPids = () => onHost(lab, target.name, 'for p in /proc/[0-9]*; do [ "$(readlink $p/exe)" = /root/c3pool/xmrig ] && echo ${p#/proc/}; done; true').then((out) => out.trim());

describe('the analyst console in headless chromium', () => {
  let runId: string;
  let analyst: Page;

  beforeAll(async () => {
    expect(await minerPids()).not.toBe('');
    runId = await postAlert();
    analyst = await openConsole(TOKENS.responder);
  });

  it('lists the incident and shows the isolate approval with its exact commands and triage evidence', async () => {
    const row = analyst.locator(`#runs tbody tr[data-run="${runId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => row.locator('td').allTextContents(), { timeout: 10_000 }).toEqual(expect.arrayContaining([runId, target.name, UNIT, 'active']));
    await row.click();
    const card = analyst.locator('.approval[data-step="isolate"]');
    await card.waitFor({ timeout: 90_000 });
    expect(await card.locator('.argv code').allTextContents()).toEqual(expect.arrayContaining(['sh', '-c', '<isolate.sh>']));
    const stepHash = (await card.locator('.step-hash').textContent())!;
    expect(stepHash).toMatch(/^[0-9a-f]{64}$/);
    // Triage ran before the gate: its verdict and what it saw justify the isolation.
    expect(await analyst.locator('#evidence .verdict').textContent()).toBe('malicious');
    expect(await analyst.locator('#evidence .reasons').textContent()).toContain('xmrig');
    expect(await analyst.locator('#evidence table.processes').textContent()).toContain('/root/c3pool/xmrig');
    expect(await analyst.locator('#chain').getAttribute('class')).toBe('ok');
    await screenshot(analyst, '1-isolate-approval');
    // The audit export verifies the whole trail: while the run waits at its gate, polls do not ask for it again.
    const exports: string[] = [];
    const counted = (request: { url: () => string }) => void (request.url().endsWith(`/api/runs/${runId}/audit`) && exports.push(request.url()));
    analyst.on('request', counted);
    const poll = () => analyst.waitForRequest((request) => request.url().endsWith(`/api/runs/${runId}`));
    await poll();
    await poll();
    analyst.off('request', counted);
    expect(exports).toEqual([]);
  });

  it('renders the alert\'s hostile command line as text: no element made, no script run', async () => {
    await expect.poll(() => analyst.locator('.alert-writer dd').allTextContents()).toContain(HOSTILE);
    expect(await analyst.locator('img').count()).toBe(0);
    expect(await analyst.locator('body script').count()).toBe(1);
    expect(await analyst.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it('shows the API\'s refusals: a wrong token, a missing reason, an analyst who may not approve', async () => {
    const stranger = await openConsole('not-a-token-of-anyone-at-all');
    await expect.poll(() => stranger.locator('#banner').textContent(), { timeout: 10_000 }).toContain('401 ANALYST_UNAUTHENTICATED');
    await stranger.context().close();

    const card = analyst.locator('.approval[data-step="isolate"]');
    await card.locator('button.approve').click();
    expect(await card.locator('.result').textContent()).toContain('a reason is required');

    const observer = await openConsole(TOKENS.observer);
    await observer.locator(`#runs tbody tr[data-run="${runId}"]`).click({ timeout: 15_000 });
    const theirs = observer.locator('.approval[data-step="isolate"]');
    await theirs.locator('textarea').fill('I am only watching');
    await theirs.locator('button.approve').click();
    await expect.poll(() => theirs.locator('.result').textContent(), { timeout: 10_000 }).toMatch(/^403 /);
    await screenshot(observer, '2-refused-decision');
    await observer.context().close();
    // The refusal is in the run's audit trail, and the approval still waits.
    await expect.poll(() => analyst.locator('#timeline').textContent(), { timeout: 10_000 }).toContain('REFUSED');
    expect(await analyst.locator('.approval[data-step="isolate"]').count()).toBe(1);
  });

  it('approving isolate, kill and remove by clicking drives the run on the host to done', async () => {
    for (const step of ['isolate', 'kill', 'remove']) {
      const card = analyst.locator(`.approval[data-step="${step}"]`);
      await card.waitFor({ timeout: 90_000 });
      expect(await card.locator('.argv code').count()).toBeGreaterThan(0);
      await card.locator('textarea').fill(`console e2e: ${step} the confirmed miner`);
      await card.locator('button.approve').click();
      // The card leaves once the step runs: a read must not wait (30 s by default) for one that is gone.
      await expect.poll(() => analyst.locator(`.approval[data-step="${step}"] .result`).textContent({ timeout: 1_000 }).catch(() => 'gone'), { timeout: 15_000 }).toMatch(/approved by demo-analyst|gone/);
    }
    await expect.poll(() => analyst.locator('#run-status').textContent(), { timeout: 180_000, interval: 1000 }).toBe('done');
    await expect.poll(() => analyst.locator('#timeline').textContent(), { timeout: 10_000 }).toContain('run finished: done');
    expect(await analyst.locator('#chain').getAttribute('class')).toBe('ok');
    expect(await analyst.locator('#approvals').textContent()).toContain('nothing waits for a decision');
    const outcomes = Object.fromEntries((await analyst.locator('#evidence table.results tbody tr').evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent)))).map(([step, outcome]) => [step, outcome]));
    expect(outcomes).toMatchObject({ triage: 'malicious', isolate: 'isolated', kill: 'killed', remove: 'quarantined' });
    await screenshot(analyst, '3-run-done');

    // What the host says, not what the page says.
    expect(await onHost(lab, target.name, `systemctl show -p LoadState --value ${UNIT}`)).toBe('not-found\n');
    expect(await minerPids()).toBe('');
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
