import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, expect, it, vi } from 'vitest';
import { ACTIONS } from '../../../src/actions/registry.js';
import { parseAlerts } from '../../../src/alert/intake.js';
import { recordDecision } from '../../../src/approvals/decide.js';
import { LEASE_MS } from '../../../src/engine/run-leases.js';
import { Runtime, type Hosts } from '../../../src/engine/runtime.js';
import { buildPlan } from '../../../src/plan/plan.js';
import type { Playbook } from '../../../src/playbook/load.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import type { ExecResult } from '../../../src/transport/transport.js';
import { gatedPlaybook, hostName, kibanaBody, noHosts, serviceConfig } from '../server/service.js';

// Two soar processes on one store (soar run twice on one alert, soar resume beside soar serve):
// each has its own runtime and its own SQLite connection to the same file, as here.
const config = serviceConfig(1);
let file: string;
let playbook: Playbook;
const stores: SqliteStore[] = [];

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soar-leases-'));
  file = join(dir, 'soar.db');
  playbook = await gatedPlaybook(dir);
  return () => {
    for (const store of stores.splice(0)) store.close();
  };
});

function runtimeOn(hosts: Hosts): Runtime {
  const store = new SqliteStore(file);
  stores.push(store);
  return new Runtime({ store, config, actions: ACTIONS, hosts });
}

/** A run whose gate is approved: its triage is due to run on the host. */
function approvedRun(runtime: Runtime, uuid: string): string {
  const plan = buildPlan({ alert: parseAlerts(kibanaBody([{ uuid: uuid.repeat(32), host: hostName(0) }]))[0]!, playbook, config, actions: ACTIONS });
  runtime.start(plan, playbook);
  for (const analyst of ['alice', 'bob']) recordDecision(runtime, config, { run: plan.runId, step: 'triage', analyst, decision: 'approve', reason: 'INC-9', stepHash: plan.steps[0]!.hash });
  return plan.runId;
}

/** What a host gives back for a command that ended well. */
const returned = (): ExecResult => ({ command: 'triage', exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false, startedAt: new Date().toISOString(), durationMs: 1, timedOut: false, outcomeUnknown: false });

/** A host whose commands wait until `finish` is called: a step in flight for as long as the test likes. */
function slowHost() {
  let started!: () => void;
  let finish!: (result: ExecResult) => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const result = new Promise<ExecResult>((resolve) => (finish = resolve));
  const hosts: Hosts = {
    transport: () => ({
      exec: async () => {
        started();
        return result;
      },
      close: async () => {},
    }),
    probe: async () => {},
  };
  return { hosts, running, finish };
}

/** A lease (a run's, or a host's) lapses where it is held (a suspended terminal, a paused machine): another may take it. */
function lapse(runtime: Runtime, key: string): void {
  const held = runtime.store.leaseHolder(key)!;
  runtime.store.takeLease({ ...held, expiresAt: Date.now() - 1 }, () => false);
}

const stepsStarted = (runtime: Runtime, run: string) => runtime.store.auditRecords(run).filter((record) => record.kind === 'step.started').length;

it('a run one process is carrying out is left alone by another: nothing runs twice', async () => {
  const slow = slowHost();
  const first = runtimeOn(slow.hosts);
  const second = runtimeOn(noHosts);
  const run = approvedRun(first, 'a1');

  const driving = first.drive(run);
  await slow.running;
  expect(await second.drive(run)).toBe('busy');
  expect(second.claim(run)).toMatchObject({ pid: process.pid, hostname: hostname() });
  expect(stepsStarted(second, run)).toBe(1);

  slow.finish(returned());
  await driving;
  // Its drive over, the first process let go: the run is anyone's again.
  expect(second.claim(run)).toBeUndefined();
  expect(first.claim(run)).toMatchObject({ pid: process.pid });
  second.letGo(run);
  expect(first.claim(run)).toBeUndefined();
  first.letGo(run);
});

it('two runs on one host never act at the same time, whichever processes drive them', async () => {
  const slow = slowHost();
  const first = runtimeOn(slow.hosts);
  const second = runtimeOn(noHosts);
  const [a, b] = [approvedRun(first, 'f6'), approvedRun(first, 'f7')];
  expect(second.run(b).host).toBe(first.run(a).host);

  const driving = first.drive(a);
  await slow.running;
  // Another process, and this one, find the host taken: b waits, and says for whom.
  expect(await second.drive(b)).toBe('busy');
  expect(await first.drive(b)).toBe('busy');
  expect(stepsStarted(second, b)).toBe(0);
  expect(second.busyWith(b)).toMatchObject({ run: `host:${hostName(0)}`, pid: process.pid });

  slow.finish(returned());
  await driving;
  expect(second.busyWith(b)).toBeUndefined();
  // The host is free: b acts now.
  await first.drive(b);
  expect(stepsStarted(first, b)).toBe(1);
});

it('a claim holds through a wait at a gate, and a run with nothing to do needs no lease', async () => {
  const first = runtimeOn(noHosts);
  const second = runtimeOn(noHosts);
  const plan = buildPlan({ alert: parseAlerts(kibanaBody([{ uuid: 'b2'.repeat(32), host: hostName(0) }]))[0]!, playbook, config, actions: ACTIONS });
  first.start(plan, playbook);
  // Waiting at its gate: nothing to carry out, so nobody needs to hold it.
  expect(await second.drive(plan.runId)).toBe('waiting');
  expect(first.claim(plan.runId)).toBeUndefined();
  expect(await first.drive(plan.runId)).toBe('waiting');
  expect(second.claim(plan.runId)).toMatchObject({ pid: process.pid });
  first.letGo(plan.runId);
  expect(second.claim(plan.runId)).toBeUndefined();
  second.letGo(plan.runId);
});

it('a lease whose process is gone, or that was not renewed in time, is taken over at once', () => {
  const runtime = runtimeOn(noHosts);
  const run = approvedRun(runtime, 'c3');
  const gone = spawnSync('true').pid;
  const lease = (pid: number, expiresAt: number) => runtime.store.takeLease({ run, owner: 'other', hostname: hostname(), pid, expiresAt }, () => true);

  lease(process.ppid, Date.now() + LEASE_MS);
  expect(runtime.claim(run)).toMatchObject({ owner: 'other', pid: process.ppid });
  lease(gone, Date.now() + LEASE_MS);
  expect(runtime.claim(run)).toBeUndefined();
  runtime.letGo(run);
  // Let go of cleanly: the next claim takes nothing over.
  expect(runtime.claim(run)).toBeUndefined();
  runtime.letGo(run);
  lease(process.ppid, Date.now() - 1);
  expect(runtime.claim(run)).toBeUndefined();
  runtime.letGo(run);
  // Each takeover is in the trail, with whom it was taken from and why.
  expect(takeovers(runtime, run)).toEqual([
    { from: { hostname: hostname(), pid: gone }, why: 'process gone' },
    { from: { hostname: hostname(), pid: process.ppid }, why: 'expired' },
  ]);
  // On another machine a live process cannot be told from a dead one: only the expiry frees its lease.
  runtime.store.takeLease({ run, owner: 'elsewhere', hostname: `not-${hostname()}`, pid: gone, expiresAt: Date.now() + LEASE_MS }, () => true);
  expect(runtime.claim(run)).toMatchObject({ owner: 'elsewhere' });
  expect(takeovers(runtime, run)).toHaveLength(2);
});

it('a process that stalled past its lease writes nothing more about the run once another took it over', async () => {
  const slow = slowHost();
  const stalled = runtimeOn(slow.hosts);
  const other = runtimeOn(noHosts);
  const run = approvedRun(stalled, 'd4');
  const driving = stalled.drive(run);
  await slow.running;
  lapse(stalled, run);
  expect(other.claim(run)).toBeUndefined();
  const before = other.store.auditRecords(run).map((record) => record.kind);
  expect(before.slice(-3)).toEqual(['step.started', 'command.sent', 'run.taken_over']);

  // Its command comes back: the result is not recorded, the step does not advance, the run is left to the other.
  slow.finish(returned());
  expect(await driving).toBe('busy');
  expect(other.store.auditRecords(run).map((record) => record.kind)).toEqual(before);
  expect(other.store.openIntents(run)).toMatchObject([{ state: 'started', intent: { type: 'runStep' } }]);
  expect(stalled.claim(run)).toMatchObject({ pid: process.pid, owner: other.store.leaseHolder(run)!.owner });
  other.letGo(run);
});

it('a process that stalled past its host\'s lease writes nothing more once another run acts on the host', async () => {
  const [slowA, slowB] = [slowHost(), slowHost()];
  const stalled = runtimeOn(slowA.hosts);
  const other = runtimeOn(slowB.hosts);
  const [a, b] = [approvedRun(stalled, 'g8'), approvedRun(stalled, 'g9')];
  const drivingA = stalled.drive(a);
  await slowA.running;
  // Only the host's lease lapses: a's own is still the stalled process's.
  lapse(stalled, `host:${hostName(0)}`);
  const drivingB = other.drive(b);
  await slowB.running;
  // The run that took the host says so, with whom it took it from and why.
  expect(other.store.auditRecords(b).filter((record) => record.kind === 'host.taken_over').map((record) => record.data)).toEqual([
    { host: hostName(0), from: { hostname: hostname(), pid: process.pid }, why: 'expired', expiredAt: expect.any(String) },
  ]);
  const before = stalled.store.auditRecords(a).map((record) => record.kind);

  slowA.finish(returned());
  expect(await drivingA).toBe('busy');
  expect(stalled.store.auditRecords(a).map((record) => record.kind)).toEqual(before);
  slowB.finish(returned());
  await drivingB;
  expect(stepsStarted(other, b)).toBe(1);
});

it('a lease taken over is never taken back by its old holder\'s renewal', () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  try {
    const stalled = runtimeOn(noHosts);
    const other = runtimeOn(noHosts);
    const run = approvedRun(stalled, 'e5');
    expect(stalled.claim(run)).toBeUndefined();
    lapse(stalled, run);
    expect(other.claim(run)).toBeUndefined();
    other.letGo(run);
    // The stalled process wakes up and its renewal falls due: the run is nobody's, and stays so.
    vi.advanceTimersByTime(LEASE_MS);
    expect(stalled.store.leaseHolder(run)).toBeUndefined();
  } finally {
    vi.useRealTimers();
  }
});

const takeovers = (runtime: Runtime, run: string) =>
  runtime.store
    .auditRecords(run)
    .filter((record) => record.kind === 'run.taken_over')
    .map((record) => {
      const { from, why } = record.data as { from: unknown; why: string };
      return { from, why };
    });
