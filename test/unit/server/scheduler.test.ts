import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { recordDecision } from '../../../src/approvals/decide.js';
import { Runtime } from '../../../src/engine/runtime.js';
import { buildPlan } from '../../../src/plan/plan.js';
import { loadPlaybook } from '../../../src/playbook/load.js';
import { DEADLINES_A_TURN, Scheduler } from '../../../src/server/scheduler.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { SshFleet } from '../../../src/transport/ssh/fleet.js';
import { until } from '../../support/until.js';
import { gatedPlaybook, get, hostName, INTAKE_SECRET, kibanaBody, noHosts, openService, post, serviceConfig, TOKENS, type Service } from './service.js';

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

/** One host at 127.0.0.1 port 1, where nothing listens: a step that reaches it fails at once, and is recorded. */
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'soar-scheduler-'));
  writeFileSync(join(dir, 'known_hosts'), '');
  const config = { ...serviceConfig(1, { connect_timeout: 2000 }), baseDir: dir };
  const fleet = new SshFleet(config);
  open.push(fleet);
  return { dir, config, fleet, file: join(dir, 'soar.db') };
}

const intake = async (service: Service, uuid: string, unit?: string) =>
  (await post(`${service.url}/api/alerts`, kibanaBody([{ uuid, host: hostName(0), unit }]), { 'x-soar-secret': INTAKE_SECRET })).body.runs[0] as { run: string; created: boolean; joined: boolean };

it('a gate whose time runs out escalates the run with no request from anyone; the host is then free for a new incident', { timeout: 30_000 }, async () => {
  const { dir, config, fleet, file } = setup();
  const text = readFileSync((await gatedPlaybook(dir)).file, 'utf8').replace('expires: 1h', 'expires: 1s');
  writeFileSync(join(dir, 'short-gate.yaml'), text);
  const service = await openService({ file, config, playbook: await loadPlaybook(join(dir, 'short-gate.yaml'), ACTIONS), hosts: fleet });
  open.push(service);
  const first = await intake(service, 'e1'.repeat(32));
  expect(first).toMatchObject({ created: true, joined: false });
  expect(await intake(service, 'e2'.repeat(32))).toEqual({ alert: 'e2'.repeat(32), run: first.run, created: false, joined: true });
  await until('the run ending', () => service.store.run(first.run)!.status !== 'active');
  expect(service.store.approval(first.run, 'triage')!.state).toBe('expired');
  expect(service.store.run(first.run)!.snapshot.context.escalation).toMatchObject({ reason: 'approval_expired', step: 'triage' });
  const kinds = service.store.auditRecords(first.run).map((record) => record.kind);
  expect(kinds).toEqual(expect.arrayContaining(['alert.joined', 'approval.expired', 'run.finished']));
  // Only the escalation ran: nothing behind the gate.
  const started = service.store.auditRecords(first.run).filter((record) => record.kind === 'step.started').map((record) => (record.data as { step: string }).step);
  expect(started).toEqual(['escalate']);
  // The incident is over: the next alert for the host starts its own run.
  const next = await intake(service, 'e3'.repeat(32));
  expect(next).toMatchObject({ created: true, joined: false });
  // Kibana retrying the first alert later gets its own (finished) run, not a place in the new incident.
  expect(await intake(service, 'e1'.repeat(32))).toEqual({ alert: 'e1'.repeat(32), run: first.run, created: false, joined: false });
  expect(service.store.auditRecords(next.run).filter((record) => record.kind === 'alert.joined')).toEqual([]);
});

it('an alert about a second unit on a busy host gets its own run, held until the first ends; repeats join the run of their unit', { timeout: 30_000 }, async () => {
  const { dir, config, fleet, file } = setup();
  const service = await openService({ file, config, playbook: await gatedPlaybook(dir), hosts: fleet });
  open.push(service);
  const first = await intake(service, 'b1'.repeat(32));
  const second = await intake(service, 'b2'.repeat(32), 'moneroocean_miner.service');
  expect(second).toMatchObject({ created: true, joined: false });
  expect(second.run).not.toBe(first.run);
  expect(service.store.run(second.run)!.plan.target.unit).toBe('moneroocean_miner.service');
  expect(service.store.auditRecords(second.run).filter((record) => record.kind === 'run.held').map((record) => record.data)).toEqual([{ behind: first.run, host: hostName(0) }]);
  expect(service.store.auditRecords(first.run).map((record) => record.kind)).not.toContain('run.held');
  expect(await intake(service, 'b3'.repeat(32), 'moneroocean_miner.service')).toMatchObject({ run: second.run, joined: true });
  expect(await intake(service, 'b4'.repeat(32))).toMatchObject({ run: first.run, joined: true });
  // A third unit waits for the run it is in line behind: the second, not the first.
  const third = await intake(service, 'b5'.repeat(32), 'pnsd.service');
  expect(service.store.auditRecords(third.run).filter((record) => record.kind === 'run.held').map((record) => record.data)).toEqual([{ behind: second.run, host: hostName(0) }]);

  // Approved, the second run still waits for the host's first incident to end.
  const stepsStarted = (run: string) => service.store.auditRecords(run).filter((record) => record.kind === 'step.started').length;
  const gate = (run: string) => service.store.approval(run, 'triage')!;
  for (const analyst of ['alice', 'bob'] as const) {
    const approved = await post(`${service.url}/api/runs/${second.run}/steps/triage/approve`, { reason: 'second miner', stepHash: gate(second.run).stepHash }, { authorization: `Bearer ${TOKENS[analyst]}` });
    expect(approved.status).toBe(200);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(stepsStarted(second.run)).toBe(0);
  const heldBehind = async (run = second.run) => (await get(`${service.url}/api/runs/${run}`, { authorization: `Bearer ${TOKENS.carol}` })).body.heldBehind;
  expect(await heldBehind()).toBe(first.run);
  expect(await heldBehind(third.run)).toBe(second.run);
  const deny = await post(`${service.url}/api/runs/${first.run}/steps/triage/deny`, { reason: 'not ours', stepHash: gate(first.run).stepHash }, { authorization: `Bearer ${TOKENS.bob}` });
  expect(deny.status).toBe(200);
  await until('the second run acting on the host', () => stepsStarted(second.run) > 0);
  expect(service.store.run(first.run)!.status).not.toBe('active');
  expect(await heldBehind()).toBeUndefined();
});

it('runs decided while soar serve was down are taken up when it starts again', { timeout: 30_000 }, async () => {
  const { dir, config, fleet, file } = setup();
  const playbook = await gatedPlaybook(dir);
  const before = await openService({ file, config, playbook, hosts: fleet });
  const { run } = await intake(before, 'd1'.repeat(32));
  const gate = await until('the gate', () => before.store.approval(run, 'triage'));
  await before.close();

  // Decided from elsewhere (soar approve) while no server runs.
  const store = new SqliteStore(file);
  const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: fleet });
  for (const analyst of ['alice', 'bob']) recordDecision(runtime, config, { run, step: 'triage', analyst, decision: 'approve', reason: 'INC-7', stepHash: gate.stepHash });
  expect(store.auditRecords(run).map((record) => record.kind)).not.toContain('step.started');
  store.close();

  const after = await openService({ file, config, playbook, hosts: fleet });
  open.push(after);
  await until('triage on the host', () => after.store.auditRecords(run).some((record) => record.kind === 'step.failed' || record.kind === 'step.unknown'));
  expect(after.store.auditRecords(run).map((record) => record.kind)).toContain('step.started');
});

it('two active runs for one host in the store (from soar run) are driven one after the other, never together', { timeout: 30_000 }, async () => {
  const { dir, config, fleet, file } = setup();
  const playbook = await gatedPlaybook(dir);
  const store = new SqliteStore(file);
  const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: fleet });
  const [first, second] = ['f1', 'f2'].map((uuid) => {
    const alert = parseAlerts(kibanaBody([{ uuid: uuid.repeat(32), host: hostName(0) }]))[0]!;
    return runtime.start(buildPlan({ alert, playbook, config, actions: ACTIONS }), playbook).runId;
  }) as [string, string];
  store.close();

  const service = await openService({ file, config, playbook, hosts: fleet });
  open.push(service);
  const stepsStarted = (run: string) => service.store.auditRecords(run).filter((record) => record.kind === 'step.started').length;
  // Both gates were opened when the runs started; the second is approved while the first still holds the host.
  const [firstGate, secondGate] = [first, second].map((run) => service.store.approval(run, 'triage')!);
  for (const analyst of ['alice', 'bob'] as const) {
    const approved = await post(`${service.url}/api/runs/${second}/steps/triage/approve`, { reason: 'ours', stepHash: secondGate!.stepHash }, { authorization: `Bearer ${TOKENS[analyst]}` });
    expect(approved.status).toBe(200);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(stepsStarted(second)).toBe(0);
  const deny = await post(`${service.url}/api/runs/${first}/steps/triage/deny`, { reason: 'not ours', stepHash: firstGate!.stepHash }, { authorization: `Bearer ${TOKENS.bob}` });
  expect(deny.status).toBe(200);
  await until('the second run acting on the host', () => stepsStarted(second) > 0);
  expect(service.store.run(first)!.status).not.toBe('active');
});

it('a run another soar process drives (soar run, soar resume) is left to it, and taken up once it lets go', { timeout: 30_000 }, async () => {
  const { dir, config, fleet, file } = setup();
  const service = await openService({ file, config, playbook: await gatedPlaybook(dir), hosts: fleet });
  open.push(service);
  const { run } = await intake(service, 'a7'.repeat(32));
  const gate = await until('the gate', () => service.store.approval(run, 'triage'));
  // Another process on the same store, its runner holding the run through the gate.
  const store = new SqliteStore(file);
  open.push(store);
  const other = new Runtime({ store, config, actions: ACTIONS, hosts: fleet });
  expect(other.claim(run)).toBeUndefined();
  for (const analyst of ['alice', 'bob'] as const) {
    const approved = await post(`${service.url}/api/runs/${run}/steps/triage/approve`, { reason: 'INC-8', stepHash: gate.stepHash }, { authorization: `Bearer ${TOKENS[analyst]}` });
    expect(approved.status).toBe(200);
  }
  const stepsStarted = () => service.store.auditRecords(run).filter((record) => record.kind === 'step.started').length;
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(stepsStarted()).toBe(0);
  other.letGo(run);
  await until('the service acting on the run', () => stepsStarted() > 0);
});

it('a run holds its host connection only while it is driven: waiting at a gate, it has let go', { timeout: 30_000 }, async () => {
  const { dir, config, file } = setup();
  const released: string[] = [];
  const hosts = {
    transport: () => {
      throw new Error('no host may be contacted while a gate is closed');
    },
    probe: async () => {
      throw new Error('no host may be contacted while a gate is closed');
    },
    release: async (host: string) => {
      released.push(host);
    },
  };
  const service = await openService({ file, config, playbook: await gatedPlaybook(dir), hosts });
  open.push(service);
  const { run } = await intake(service, 'c'.repeat(64));
  await until('the run waiting at its gate', () => service.store.approvals({ run, state: 'pending' }).length === 1);
  await until('the host connection released', () => released.includes(hostName(0)));
});

it('an admission whose commit fails leaves no run behind in memory: the next alert for the host starts one', { timeout: 30_000 }, async () => {
  const { dir, config, fleet, file } = setup();
  const service = await openService({ file, config, playbook: await gatedPlaybook(dir), hosts: fleet });
  open.push(service);
  const commit = service.store.transaction.bind(service.store);
  let failNextCommit = true;
  // The disk fills up as the admission commits: its writes roll back.
  service.store.transaction = <T>(work: () => T): T => {
    if (!failNextCommit || service.store.db.inTransaction) return commit(work);
    failNextCommit = false;
    return commit(() => {
      work();
      throw new Error('SQLITE_FULL: database or disk is full');
    });
  };
  const failed = await post(`${service.url}/api/alerts`, kibanaBody([{ uuid: 'a1'.repeat(32), host: hostName(0) }]), { 'x-soar-secret': INTAKE_SECRET });
  expect(failed.status).toBe(500);
  expect(service.store.runs()).toEqual([]);
  expect(service.scheduler.stats()).toMatchObject({ active: 0, queued: 0 });
  const next = await intake(service, 'a2'.repeat(32));
  expect(next).toMatchObject({ created: true, joined: false });
  expect(service.store.run(next.run)?.status).toBe('active');
});

it('fires a storm of expiring gates a batch in each turn of the event loop, so that alerts and decisions are served between batches', async () => {
  const { dir, config, file } = setup();
  const playbook = await gatedPlaybook(dir);
  const store = new SqliteStore(file);
  open.push(store);
  const runtime = new Runtime({ store, config, actions: ACTIONS, hosts: noHosts });
  const runs = Array.from({ length: 2 * DEADLINES_A_TURN + 10 }, (_, index) => {
    const plan = buildPlan({ alert: parseAlerts(kibanaBody([{ uuid: `${index}`.padStart(32, 'f'), host: hostName(0) }]))[0]!, playbook, config, actions: ACTIONS });
    return runtime.start(plan, playbook).runId;
  });
  // Every gate's time ran out while soar serve was down.
  store.db.prepare('UPDATE deadlines SET due_at = 0').run();
  const expired = () => runs.filter((run) => store.approval(run, 'triage')!.state === 'expired').length;
  const scheduler = new Scheduler({ runtime, maxConcurrentRuns: 1, queueLimit: 1_000, tickMs: 3_600_000 });
  open.push({ close: () => scheduler.stop(0).then(() => undefined) });

  scheduler.tick();
  expect(expired()).toBe(DEADLINES_A_TURN);
  const seenBetween: number[] = [];
  while (seenBetween.at(-1) !== runs.length) {
    await new Promise((resolve) => setImmediate(resolve));
    seenBetween.push(expired());
  }
  expect(seenBetween).toEqual([2 * DEADLINES_A_TURN, runs.length]);
  for (const run of runs) expect(store.run(run)!.snapshot.context.escalation).toMatchObject({ reason: 'approval_expired', step: 'triage' });
});
