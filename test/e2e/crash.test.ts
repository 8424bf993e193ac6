import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLAYBOOK } from '../../src/cli/defaults.js';
import { startLab, type Lab, type LabHost } from '../lab/lab.js';
import { onHost, SOAR_BIN, soar, writeAlert, writeSoarConfig } from './support.js';

const LAB_ID = 6;
const HOSTS = 3;
const STEPS = ['triage', 'isolate', 'kill', 'remove', 'scan', 'escalate'];

let lab: Lab;
let config: string;

beforeAll(async () => {
  lab = await startLab({ hosts: HOSTS, lab: LAB_ID });
  config = await writeSoarConfig(lab, undefined);
}, 600_000);

afterAll(async () => {
  await lab?.down();
}, 120_000);

const APPROVE = ['--approve-as', 'demo-analyst', '--reason', 'crash test'];

/** A freshly infected host: whatever an earlier scenario left stopped, isolation lifted, the miner installed again. */
async function reinfect(target: LabHost): Promise<void> {
  await onHost(lab, target.name, 'systemctl disable --now c3pool_miner.service 2>/dev/null; nft delete table inet soar_isolation 2>/dev/null; true');
  await lab.infect(target.name, 'c3pool_miner.service', { staging: true });
}

interface Record {
  seq: number;
  kind: string;
  actor: string;
  data: { step?: string; inPlace?: boolean; status?: string; from?: { hostname: string; pid: number }; why?: string };
}

function auditOf(store: string, run: string): Record[] {
  const db = new Database(store, { readonly: true });
  try {
    return (db.prepare('SELECT seq, kind, actor, data FROM audit WHERE run = ? ORDER BY seq').all(run) as Array<Omit<Record, 'data'> & { data: string }>).map((row) => ({ ...row, data: JSON.parse(row.data) }));
  } finally {
    db.close();
  }
}

type Holder = { hostname: string; pid: number };

/** The leases a killed runner left behind in the store: the run's, and its host's (held while acting). */
function leasesLeft(store: string): { run?: Holder; host?: Holder } {
  const db = new Database(store, { readonly: true });
  try {
    const left = (where: string) => db.prepare(`SELECT hostname, pid FROM leases WHERE ${where}`).get() as Holder | undefined;
    return { run: left("run NOT LIKE 'host:%'"), host: left("run LIKE 'host:%'") };
  } finally {
    db.close();
  }
}

/** Each step's effect is recorded once: a result, or a settlement that found it in place. */
function completions(records: Record[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const record of records) {
    if (record.kind === 'step.result' || (record.kind === 'step.settled' && record.data.inPlace)) counts.set(record.data.step!, (counts.get(record.data.step!) ?? 0) + 1);
  }
  return counts;
}

async function checkHostClean(target: LabHost): Promise<void> {
  expect(await onHost(lab, target.name, 'systemctl show -p LoadState --value c3pool_miner.service')).toBe('not-found\n');
  expect(await onHost(lab, target.name, 'for p in /proc/[0-9]*; do [ "$(readlink $p/exe)" = /root/c3pool/xmrig ] && echo $p; done; true')).toBe('');
  // Quarantined once: a second move would have left a renamed copy (.1) beside the first.
  expect(await onHost(lab, target.name, 'find /var/lib/soar/quarantine -name "*.1" | wc -l')).toBe('0\n');
}

/**
 * Runs the response with a SIGKILL injected after the given audit record, then resumes it with
 * the same command (the alert's run is found and carried on) until it ends.
 */
async function crashAndResume(target: LabHost, fault: string) {
  const store = join(lab.dir, `crash-${fault.replace(/[^a-z0-9]/gi, '_')}.db`);
  const alert = await writeAlert(lab, target.name);
  const args = ['run', '--json', '--alert', alert, '--config', config, '--store', store, ...APPROVE];
  const runner = execa(process.execPath, [SOAR_BIN, ...args], { reject: false, env: { SOAR_FAULT: fault, SOAR_CONFIG: '' } });
  const crashed = { pid: runner.pid, signal: (await runner).signal, leases: leasesLeft(store) };
  const resumed = await soar(args);
  const [report] = JSON.parse(resumed.stdout || '[]') as Array<{ runId: string; status: string; escalation?: unknown; outcomes: Record['data'] }>;
  return { crashed, resumed, report: report!, store };
}

// Boundaries between steps and inside them; `@ms` lands in the middle of the remote command.
const FAULTS = [
  'run.started#1',
  'step.started#1',
  'command.sent#1@150',
  'step.result#1',
  'approval.requested#1',
  'approval.granted#1',
  'step.started#2',
  'command.sent#2',
  'command.returned#2',
  'command.sent#3@50',
  'step.result#2',
  'approval.granted#2',
  'command.sent#5@200',
  'step.result#3',
  'approval.granted#3',
  'step.started#4',
  'command.sent#6@300',
  'command.returned#6',
  'step.result#4',
  'command.sent#7@300',
  'step.result#5',
  'case.built#1',
  'approval.requested#3',
];

describe('a runner killed with SIGKILL', () => {
  it.each(FAULTS.map((fault, index) => [fault, index % HOSTS] as const))('after %s finishes the run on restart, nothing twice, nothing lost', async (fault, hostIndex) => {
    const target = lab.hosts[hostIndex]!;
    await reinfect(target);
    const { crashed, resumed, report, store } = await crashAndResume(target, fault);
    expect(crashed.signal).toBe('SIGKILL');
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(report.status).toBe('done');
    expect(report.escalation).toBeUndefined();
    const records = auditOf(store, report.runId);
    expect(records[0]!.kind).toBe('run.started');
    expect(records.at(-1)!.kind).toBe('run.finished');
    expect(Object.fromEntries(completions(records))).toEqual(Object.fromEntries(STEPS.map((step) => [step, 1])));
    expect(records.filter((record) => record.kind === 'approval.granted').map((record) => record.data.step)).toEqual(['isolate', 'kill', 'remove']);
    // The killed runner held the run (unless killed before it claimed it, or after the run ended):
    // the restart took it over, on the record.
    const midRun = fault !== 'run.started#1' && !fault.includes('@');
    if (midRun) expect(crashed.leases.run).toEqual({ hostname: hostname(), pid: crashed.pid });
    const takeovers = (kind: string) => records.filter((record) => record.kind === kind).map((record) => [record.data.from, record.data.why]);
    expect(takeovers('run.taken_over')).toEqual(crashed.leases.run ? [[crashed.leases.run, 'process gone']] : []);
    // Killed while acting, it held the host too: taking that over is on the record as well.
    expect(takeovers('host.taken_over')).toEqual(crashed.leases.host ? [[crashed.leases.host, 'process gone']] : []);
    await checkHostClean(target);
    const verify = await soar(['audit', 'verify', '--store', store]);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  }, 120_000);
});

describe('approvals across restarts', () => {
  it('an approval given while no runner was alive is honoured after the restart', async () => {
    const target = lab.hosts[0]!;
    await reinfect(target);
    const store = join(lab.dir, 'approval-before-restart.db');
    const alert = await writeAlert(lab, target.name);
    // No desk and no terminal: the runner waits at the isolate gate; kill it there.
    const waiting = await execa(process.execPath, [SOAR_BIN, 'run', '--alert', alert, '--config', config, '--store', store], { reject: false, env: { SOAR_FAULT: 'approval.requested#1', SOAR_CONFIG: '' } });
    expect(waiting.signal).toBe('SIGKILL');
    const status = JSON.parse((await soar(['status', '--json', '--store', store, '--config', config, ...(await runIds(store))])).stdout) as { runId: string; pending: Array<{ step: string; stepHash: string }> };
    expect(status.pending.map((approval) => approval.step)).toEqual(['isolate']);
    const approved = await soar(['approve', status.runId, 'isolate', '--as', 'second-analyst', '--reason', 'approved while the runner was down', '--hash', status.pending[0]!.stepHash, '--store', store, '--config', config]);
    expect(approved.exitCode, approved.stderr).toBe(0);
    const resumed = await soar(['run', '--json', '--alert', alert, '--config', config, '--store', store, ...APPROVE]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const grants = auditOf(store, status.runId).filter((record) => record.kind === 'approval.granted');
    expect(grants.map((record) => [record.data.step, record.actor])).toEqual([
      ['isolate', 'second-analyst'],
      ['kill', 'demo-analyst'],
      ['remove', 'demo-analyst'],
    ]);
    await checkHostClean(target);
  }, 120_000);

  it('an approval that expires while the runner is down escalates at the next start', async () => {
    const target = lab.hosts[1]!;
    await reinfect(target);
    const playbook = join(lab.dir, 'short-expiry.yaml');
    await writeFile(playbook, (await readFile(DEFAULT_PLAYBOOK, 'utf8')).replaceAll('expires: 4h', 'expires: 2s'));
    const store = join(lab.dir, 'expiry.db');
    const alert = await writeAlert(lab, target.name);
    const waiting = await execa(process.execPath, [SOAR_BIN, 'run', '--alert', alert, '--config', config, '--store', store, '--playbook', playbook], { reject: false, env: { SOAR_FAULT: 'approval.requested#1', SOAR_CONFIG: '' } });
    expect(waiting.signal).toBe('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const resumed = await soar(['resume', '--json', '--store', store, '--config', config]);
    expect(resumed.exitCode).toBe(1);
    const [report] = JSON.parse(resumed.stdout) as Array<{ runId: string; status: string; escalation: { reason: string; step: string } }>;
    expect(report).toMatchObject({ status: 'done', escalation: { reason: 'approval_expired', step: 'isolate' } });
    const kinds = auditOf(store, report!.runId).map((record) => record.kind);
    expect(kinds).toContain('approval.expired');
    expect(kinds).toContain('case.built');
    // Nothing destructive ran: the miner is still there, the host not isolated.
    expect(await onHost(lab, target.name, 'systemctl is-active c3pool_miner.service')).toBe('active\n');
    expect(await onHost(lab, target.name, 'nft list table inet soar_isolation >/dev/null 2>&1 && echo isolated || echo open')).toBe('open\n');
  }, 120_000);
});

async function runIds(store: string): Promise<string[]> {
  const db = new Database(store, { readonly: true });
  try {
    return (db.prepare('SELECT id FROM runs').all() as Array<{ id: string }>).map((row) => row.id);
  } finally {
    db.close();
  }
}
