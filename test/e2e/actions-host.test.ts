import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionDefinition, PlanContext, StepResult } from '../../src/actions/action.js';
import { StepFailedError } from '../../src/actions/failure.js';
import type { ProcessFacts } from '../../src/actions/host-facts.js';
import { ACTIONS } from '../../src/actions/registry.js';
import { parseAlerts } from '../../src/alert/intake.js';
import { DEFAULT_PLAYBOOK } from '../../src/cli/defaults.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { performStep, settleStep, type StepIo } from '../../src/engine/perform-step.js';
import { buildPlan, type Plan, type PlannedStep } from '../../src/plan/plan.js';
import { loadPlaybook, type Playbook } from '../../src/playbook/load.js';
import { SshFleet } from '../../src/transport/ssh/fleet.js';
import { startLab, type Lab, type MinerUnit } from '../lab/lab.js';
import { eventually } from './support.js';
import { exampleHit, setField, sourceOf } from '../unit/alert/example.js';

// triage, kill-process and remove-unit on real infected Debian hosts, through the step executor
// and SSH, every outcome checked inside the host without SSH. Lab 2 is this file's own.
const LAB_ID = 2;
const QUARANTINE_ROOT = '/var/lib/soar/quarantine';
/** How long a killed miner must stay dead: Restart=always respawns within 100 ms when it is not defeated. */
const NO_RESPAWN_MS = 30_000;

let lab: Lab;
let config: Config;
let fleet: SshFleet;
let playbook: Playbook;
let standinSha256: string;
const measured: Record<string, number[]> = {};

beforeAll(async () => {
  lab = await startLab({ hosts: 3, lab: LAB_ID });
  config = await loadConfig(lab.configPath);
  fleet = new SshFleet(config);
  playbook = await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS);
  const standin = JSON.parse(await readFile(join(lab.dir, 'lab.json'), 'utf8')).standin as string;
  standinSha256 = createHash('sha256').update(await readFile(standin)).digest('hex');
}, 600_000);

afterAll(async () => {
  await fleet?.close();
  console.info('action step durations over SSH (ms):', JSON.stringify(measured));
  await lab?.down();
}, 120_000);

function hostName(index: number): string {
  const found = lab.hosts[index];
  if (!found) throw new Error(`the lab has no host #${index}`);
  return found.name;
}

async function inHost(host: string, argv: string[]): Promise<string> {
  const result = await lab.exec(host, argv);
  expect(result, `${argv.join(' ')} in ${host}`).toMatchObject({ exitCode: 0 });
  return result.stdout.trim();
}

/** sha256 of files as the host's own sha256sum computes them, by path. */
async function hashesInHost(host: string, paths: string[]): Promise<Record<string, string>> {
  const lines = (await inHost(host, ['sha256sum', '--', ...paths])).split('\n');
  return Object.fromEntries(lines.map((line) => [line.slice(66), line.slice(0, 64)]));
}

async function unitState(host: string, unit: string): Promise<Record<string, string>> {
  const text = await inHost(host, ['systemctl', 'show', '-p', 'LoadState,ActiveState,UnitFileState,MainPID,NRestarts', '--', unit]);
  return Object.fromEntries(text.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

/** PIDs of processes named xmrig or running the given program, as the host's /proc shows them. */
async function minerPids(host: string, program: string): Promise<number[]> {
  const script = 'for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null); e=$(readlink $p/exe 2>/dev/null); ' +
    'if [ "$c" = xmrig ] || [ "${e% (deleted)}" = "$1" ]; then echo ${p#/proc/}; fi; done';
  const out = await inHost(host, ['sh', '-c', script, 'sh', program]);
  return out === '' ? [] : out.split('\n').map(Number);
}

async function exists(host: string, path: string): Promise<boolean> {
  return (await lab.exec(host, ['test', '-e', path])).exitCode === 0 || (await lab.exec(host, ['test', '-L', path])).exitCode === 0;
}

/** Starts an unrelated long-lived process on the host: the alert will name it as the installer. */
async function startBystander(host: string): Promise<number> {
  return Number(await inHost(host, ['sh', '-c', 'setsid sleep 100000 </dev/null >/dev/null 2>&1 & echo $!']));
}


/** A response to one alert on one lab host: the bundled playbook's plan, run step by step. */
class Response {
  readonly plan: Plan;
  readonly io: StepIo;

  constructor(host: string, fields: Record<string, unknown>) {
    const hit = exampleHit();
    const source = sourceOf(hit);
    for (const [field, value] of Object.entries({ 'host.name': host, ...fields })) setField(source, field, value);
    const [alert] = parseAlerts(hit);
    this.plan = buildPlan({ alert: alert!, playbook, config, actions: ACTIONS });
    this.io = { host: fleet.transport(host), probe: () => fleet.probe(host), deliver: async () => undefined };
  }

  get quarantine(): string {
    return `${QUARANTINE_ROOT}/${this.plan.runId}`;
  }

  #step(id: string): { step: PlannedStep; action: ActionDefinition; context: PlanContext } {
    const step = this.plan.steps.find((candidate) => candidate.id === id);
    const action = step && ACTIONS.get(step.action);
    if (!step || !action) throw new Error(`no step ${id} in the plan`);
    const context = { target: this.plan.target, config, runId: this.plan.runId, timeoutMs: step.timeoutMs, alertTime: this.plan.alert.timestamp };
    return { step, action, context };
  }

  /** Runs a step, optionally with other params than the playbook gives it (planned afresh), or through other io. */
  async perform(id: string, params?: unknown, io = this.io): Promise<StepResult> {
    const planned = this.#step(id);
    const { action, context } = planned;
    const step = params === undefined ? planned.step : { ...planned.step, params, commands: action.plan(action.params.parse(params), context) };
    const started = performance.now();
    const result = await performStep(step, action, context, io);
    (measured[id] ??= []).push(Math.round(performance.now() - started));
    return result;
  }

  /** The verdict of the step's read-only verify: its effect is in place, or not. */
  async holds(id: string): Promise<boolean> {
    const { step, action, context } = this.#step(id);
    return (await settleStep(step, action, context, this.io)) !== undefined;
  }
}

const MINERS: Array<{ index: number; unit: MinerUnit; dir: string; staging: boolean; immutable: boolean }> = [
  { index: 0, unit: 'c3pool_miner.service', dir: '/root/c3pool', staging: true, immutable: true },
  { index: 1, unit: 'moneroocean_miner.service', dir: '/root/moneroocean', staging: false, immutable: false },
];

describe.each(MINERS)('$unit (staging copy: $staging, immutable: $immutable)', ({ index, unit, dir, staging, immutable }) => {
  let host: string;
  let address: string;
  let response: Response;
  let bystander: number;
  let originals: Record<string, string>;
  let minerPid: number;
  let poolPeer: string;
  let killedAt: number;
  const unitFile = `/etc/systemd/system/${unit}`;
  const binary = `${dir}/xmrig`;
  const stagingCopy = `/tmp/${unit}`;

  beforeAll(async () => {
    host = hostName(index);
    address = lab.hosts[index]!.address;
    await lab.infect(host, unit, { staging, immutable });
    bystander = await startBystander(host);
    // The alert names the staging copy when there is one (the installer wrote it there), else the real file.
    response = new Response(host, { 'file.name': unit, 'file.path': staging ? stagingCopy : unitFile, 'process.pid': bystander });
    const files = [unitFile, binary, `${dir}/config.json`, `${dir}/config_background.json`, `${dir}/miner.sh`, ...(staging ? [stagingCopy] : [])];
    originals = await hashesInHost(host, files);
    minerPid = Number((await unitState(host, unit)).MainPID);
    const opened = (await lab.poolEvents()).filter((event) => event.event === 'open' && event.peer.startsWith(`${address}:`));
    poolPeer = opened.at(-1)!.peer;
  }, 120_000);

  it('triage says malicious, with the running stand-in, its hash, its pool connection and its config pool as evidence', async () => {
    const result = await response.perform('triage');
    expect(result.outcome).toBe('malicious');
    expect(result.changed).toBe(false);
    const evidence = result.evidence as Record<string, any>;
    expect(evidence.systemd).toMatchObject({ loadState: 'loaded', activeState: 'active', unitFileState: 'enabled', mainPid: minerPid });
    expect(evidence.fragment).toMatchObject({ path: unitFile, exists: true, sha256: originals[unitFile], immutable, package: undefined });
    expect(evidence.binaries).toEqual([expect.objectContaining({ path: binary, sha256: standinSha256, immutable, package: undefined })]);
    const main = (evidence.processes as ProcessFacts[]).find((process) => process.pid === minerPid);
    expect(main).toMatchObject({ exe: binary, sha256: standinSha256, comm: 'xmrig', user: 'root', cmdline: `${binary} --config=${dir}/config.json` });
    expect(evidence.poolConnections).toEqual([
      expect.objectContaining({ local: poolPeer, peer: `${lab.pool.address}:3333`, processes: [{ name: 'xmrig', pid: minerPid }] }),
    ]);
    expect(evidence.pools).toContain(`"url": "stratum+tcp://${lab.pool.address}:3333"`);
    expect(evidence.wants).toEqual([expect.objectContaining({ path: `/etc/systemd/system/multi-user.target.wants/${unit}`, linkTarget: unitFile })]);
    if (staging) expect(evidence.hint).toMatchObject({ path: stagingCopy, exists: true, sha256: originals[stagingCopy] });
    expect(evidence.writer).toMatchObject({ alive: true, exe: '/usr/bin/sleep', cmdline: 'sleep 100000' });
    expect(result.summary).toContain(`xmrig[${minerPid}]`);
    expect(result.summary).toContain(`${lab.pool.address}:3333`);
    // Read-only: the miner still runs as before.
    expect(await unitState(host, unit)).toMatchObject({ ActiveState: 'active', MainPID: String(minerPid) });
  });

  it('settlement: verify of kill and of remove does not hold on the infected host', async () => {
    expect(await response.holds('kill')).toBe(false);
    expect(await response.holds('remove')).toBe(false);
    expect(await unitState(host, unit)).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled', MainPID: String(minerPid) });
  });

  it('kill stops the unit for good, captures the miner first, and spares the alert\'s writer PID', async () => {
    const result = await response.perform('kill');
    killedAt = Date.now();
    expect(result).toMatchObject({ outcome: 'killed', changed: true });
    const evidence = result.evidence as Record<string, any>;
    expect(evidence.processes).toEqual([expect.objectContaining({ pid: minerPid, exe: binary, sha256: standinSha256, cwd: '/' })]);
    expect(evidence.connections).toEqual([expect.objectContaining({ local: poolPeer, peer: `${lab.pool.address}:3333` })]);
    expect(evidence.before).toEqual({ active: 'active', enabled: 'enabled' });

    expect(await minerPids(host, binary)).toEqual([]);
    const state = await unitState(host, unit);
    expect(['inactive', 'failed']).toContain(state.ActiveState);
    expect(state.UnitFileState).toBe('disabled');
    expect(await exists(host, `/etc/systemd/system/multi-user.target.wants/${unit}`)).toBe(false);
    await eventually('the pool to see the miner\'s connection close', async () =>
      (await lab.poolEvents()).some((event) => event.event === 'close' && event.peer === poolPeer) ? true : undefined);
    expect(await inHost(host, ['cat', `/proc/${bystander}/comm`])).toBe('sleep');
    expect(await response.holds('kill')).toBe(true);
  });

  it('kill a second time changes nothing and says nothing was left', async () => {
    const result = await response.perform('kill');
    expect(result).toMatchObject({ outcome: 'killed', changed: false });
    expect(result.summary).toMatch(/^nothing was left to kill/);
    expect((result.evidence as Record<string, any>).processes).toEqual([]);
  });

  it(`no miner comes back within ${NO_RESPAWN_MS / 1000} s: Restart=always is defeated`, async () => {
    const restarts = (await unitState(host, unit)).NRestarts;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + NO_RESPAWN_MS - Date.now())));
    expect(await minerPids(host, binary)).toEqual([]);
    expect(await unitState(host, unit)).toMatchObject({ ActiveState: expect.stringMatching(/^(inactive|failed)$/), NRestarts: restarts });
    const opens = (await lab.poolEvents()).filter((event) => event.event === 'open' && event.peer.startsWith(`${address}:`));
    expect(opens.map((event) => event.peer)).toEqual([poolPeer]);
  }, NO_RESPAWN_MS + 30_000);

  it('remove quarantines the unit, its staging copy, its program and the installer\'s directory, hashes intact', async () => {
    const result = await response.perform('remove');
    expect(result).toMatchObject({ outcome: 'quarantined', changed: true });
    const evidence = result.evidence as Record<string, any>;
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'not-found' });
    // kill left the unit stopped and unreferenced: systemd forgot it, and no daemon-reload was needed.
    expect(evidence.reloadedFrom).toBeUndefined();

    const quarantined = (path: string) => `${response.quarantine}/files${path}`;
    for (const [path, sha256] of Object.entries(originals)) {
      expect(await exists(host, path), `${path} left its place`).toBe(false);
      expect((await hashesInHost(host, [quarantined(path)]))[quarantined(path)], `${path} in quarantine`).toBe(sha256);
      expect(evidence.moved).toContainEqual(expect.objectContaining({ from: path, to: quarantined(path), sha256 }));
      expect((await lab.exec(host, ['test', '-x', quarantined(path)])).exitCode, `${path} is not executable`).toBe(1);
    }
    expect(evidence.moved.find((file: { from: string }) => file.from === binary).kind).toBe('binary');
    if (staging) expect(evidence.moved.find((file: { from: string }) => file.from === stagingCopy).kind).toBe('hint');
    expect(await exists(host, dir)).toBe(false);

    const manifest = await inHost(host, ['sh', '-c', 'cd "$1" && sha256sum -c MANIFEST.sha256', 'sh', response.quarantine]);
    expect(manifest.split('\n').sort()).toEqual(Object.keys(originals).map((path) => `files${path}: OK`).sort());
    expect(await inHost(host, ['stat', '-c', '%a %U', response.quarantine])).toBe('700 root');
    expect(await inHost(host, ['stat', '-c', '%a', QUARANTINE_ROOT])).toBe('700');
    if (immutable) {
      expect(evidence.unlocked.map((file: { path: string }) => file.path).sort()).toEqual([binary, unitFile].sort());
      expect(evidence.unlocked[0].attrs).toMatch(/i/);
    } else {
      expect(evidence.unlocked).toEqual([]);
    }
    expect(await response.holds('remove')).toBe(true);
  });

  it('remove a second time changes nothing and says nothing was left; triage then finds nothing', async () => {
    const again = await response.perform('remove');
    expect(again).toMatchObject({ outcome: 'quarantined', changed: false });
    expect(again.summary).toMatch(/^nothing of .* was left to quarantine/);
    const killAgain = await response.perform('kill');
    expect(killAgain).toMatchObject({ changed: false });
    expect(killAgain.summary).toMatch(/^nothing was left to kill/);
    expect((await response.perform('triage')).outcome).toBe('not_found');
    expect(await inHost(host, ['cat', `/proc/${bystander}/comm`])).toBe('sleep');
  });
});

describe('a unit with a miner\'s name that a package ships', () => {
  const unit = 'c3pool_miner.service';
  const unitFile = `/lib/systemd/system/${unit}`;
  let host: string;
  let scratch: string;

  /** A tiny .deb that ships the unit with a harmless ExecStart, built here with dpkg-deb. */
  async function buildDeb(): Promise<string> {
    scratch = await mkdtemp(join(tmpdir(), 'soar-actions-deb-'));
    const root = join(scratch, 'root');
    await mkdir(join(root, 'DEBIAN'), { recursive: true });
    await mkdir(join(root, 'lib/systemd/system'), { recursive: true });
    await writeFile(join(root, 'DEBIAN/control'), 'Package: soar-test-agent\nVersion: 1.0\nArchitecture: all\nMaintainer: soar tests <soar@example.invalid>\nDescription: a harmless agent whose unit carries a miner name\n');
    await writeFile(join(root, 'lib/systemd/system', unit), '[Unit]\nDescription=harmless agent\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=multi-user.target\n');
    const deb = join(scratch, 'agent.deb');
    await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, deb]);
    return deb;
  }

  beforeAll(async () => {
    host = hostName(2);
    const deb = await readFile(await buildDeb());
    await inHost(host, ['sh', '-c', 'printf %s "$1" | base64 -d >/root/agent.deb && dpkg -i /root/agent.deb && systemctl enable --now c3pool_miner.service', 'sh', deb.toString('base64')]);
  }, 60_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('is a false positive, and nothing on the host changes', async () => {
    const before = { state: await unitState(host, unit), hash: await hashesInHost(host, [unitFile]) };
    expect(before.state).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled' });
    const response = new Response(host, { 'file.name': unit, 'file.path': unitFile, 'process.pid': 4421 });

    const result = await response.perform('triage');
    expect(result.outcome).toBe('false_positive');
    expect(result.summary).toContain(`${unitFile} ships unmodified in package soar-test-agent`);
    expect(result.summary).toContain('/bin/sleep ships unmodified in package coreutils');
    const evidence = result.evidence as Record<string, any>;
    expect(evidence.fragment).toMatchObject({ path: unitFile, package: 'soar-test-agent', packageModified: false, sha256: before.hash[unitFile] });
    // The playbook sends a false positive straight to escalation: no destructive step follows.
    expect(response.plan.steps.find((step) => step.id === 'triage')!.next.false_positive).toBe('escalate');
    // Verify is read-only too: asking changes nothing.
    expect(await response.holds('kill')).toBe(false);
    expect(await response.holds('remove')).toBe(false);

    expect(await unitState(host, unit)).toEqual(before.state);
    expect(await hashesInHost(host, [unitFile])).toEqual(before.hash);
    expect(await exists(host, `/etc/systemd/system/multi-user.target.wants/${unit}`)).toBe(true);
    expect(await exists(host, QUARANTINE_ROOT)).toBe(false);
  });

  it('becomes suspicious, not a false positive, once a drop-in outside the package changes what it runs', async () => {
    await inHost(host, ['sh', '-c', `mkdir -p /etc/systemd/system/${unit}.d && printf '[Service]\\nExecStartPre=/root/.cache/kworker\\n' >/etc/systemd/system/${unit}.d/override.conf && systemctl daemon-reload`]);
    const result = await new Response(host, { 'file.name': unit, 'file.path': unitFile }).perform('triage');
    expect(result.outcome).toBe('suspicious');
    expect(result.summary).toContain('program in /root/.cache/kworker');
    expect((result.evidence as Record<string, any>).dropins).toEqual([expect.objectContaining({ path: `/etc/systemd/system/${unit}.d/override.conf`, package: undefined })]);
  });

  it('sees the package\'s unit file edited on disk as no longer the package\'s (dpkg --verify)', async () => {
    await inHost(host, ['sh', '-c', `echo '# edited' >>${unitFile}`]);
    const result = await new Response(host, { 'file.name': unit, 'file.path': unitFile }).perform('triage');
    expect((result.evidence as Record<string, any>).fragment).toMatchObject({ path: unitFile, package: 'soar-test-agent', packageModified: true });
  });
});

describe('a unit file an installer left directly in a .wants directory', () => {
  const unit = 'apache4.service';
  const stray = `/etc/systemd/system/default.target.wants/${unit}`;

  it('is suspicious, and remove quarantines it even though systemd never loaded it', async () => {
    const host = hostName(2);
    await inHost(host, ['sh', '-c', `mkdir -p /etc/systemd/system/default.target.wants && printf '[Service]\\nExecStart=/var/tmp/.x/apache4\\n' >${stray}`]);
    const [sha256] = Object.values(await hashesInHost(host, [stray]));
    const response = new Response(host, { 'file.name': unit, 'file.path': stray });

    const triage = await response.perform('triage');
    expect(triage.outcome).toBe('suspicious');
    expect((triage.evidence as Record<string, any>).systemd.loadState).toBe('not-found');
    expect(await response.holds('remove')).toBe(false);

    const removed = await response.perform('remove');
    expect(removed).toMatchObject({ outcome: 'quarantined', changed: true });
    expect(await exists(host, stray)).toBe(false);
    expect(Object.values(await hashesInHost(host, [`${response.quarantine}/files${stray}`]))).toEqual([sha256]);
    expect(await response.holds('remove')).toBe(true);
  });
});

// With dpkg the shell is the package's; on a host with no package database soar cannot tell it
// from the system's, and leaves it alone all the same (dpkg-query, dpkg and rpm hidden).
const HIDE_PACKAGE_TOOLS = 'for tool in dpkg-query dpkg rpm; do mv /usr/bin/$tool /usr/bin/$tool.hidden; done';
const SHOW_PACKAGE_TOOLS = 'for tool in dpkg-query dpkg rpm; do mv /usr/bin/$tool.hidden /usr/bin/$tool; done';

describe.each([
  { database: 'dpkg', kept: [{ path: '/bin/sh', kind: 'binary', package: 'dash' }], unverified: undefined },
  { database: 'no package database', kept: [], unverified: ['/usr/bin/dash'] },
])('a unit that runs its miner through a shell ($database)', ({ database, kept, unverified }) => {
  const unit = 'pastebin.service';
  const dir = '/var/tmp/.ice-unix';
  const miner = `${dir}/kthreaddk`;

  it('kill ends the program the shell names wherever it runs, and no other shell or sleep; remove keeps /bin/sh', async () => {
    const host = hostName(2);
    // A harmless copy of sleep under a miner's name, started by the unit through sh and once more outside it.
    await inHost(host, ['sh', '-c', [
      `mkdir -p ${dir} && cp /bin/sleep ${miner}`,
      `printf '[Service]\\nExecStart=/bin/sh -c "${miner} 100001 & exec sleep 100002"\\n[Install]\\nWantedBy=multi-user.target\\n' >/etc/systemd/system/${unit}`,
      `systemctl enable --now --quiet ${unit}`,
    ].join(' && ')]);
    const stray = Number(await inHost(host, ['sh', '-c', `setsid ${miner} 100003 </dev/null >/dev/null 2>&1 & echo $!`]));
    const bystanders = [await startBystander(host), Number(await inHost(host, ['sh', '-c', 'setsid sh -c "sleep 100004; :" </dev/null >/dev/null 2>&1 & echo $!']))];
    const shHash = await hashesInHost(host, ['/bin/sh', '/usr/bin/dash']);
    await eventually('the unit\'s miner to start', async () => ((await minerPids(host, miner)).length === 2 ? true : undefined));
    const response = new Response(host, { 'file.name': unit, 'file.path': `/etc/systemd/system/${unit}` });
    if (database !== 'dpkg') await inHost(host, ['sh', '-c', HIDE_PACKAGE_TOOLS]);
    try {
      const triage = await response.perform('triage');
      expect(triage.outcome).toBe('malicious');
      expect((triage.evidence as Record<string, any>).binaries.map((file: { path: string }) => file.path)).toEqual(['/bin/sh', miner]);
      expect((triage.evidence as Record<string, any>).unverifiedPrograms).toEqual(unverified);
      if (unverified) expect(triage.summary).toContain('no package database on the host: kill and remove leave /usr/bin/dash alone');

      const killed = await response.perform('kill');
      expect(await minerPids(host, miner)).toEqual([]);
      for (const pid of bystanders) expect((await lab.exec(host, ['kill', '-0', String(pid)])).exitCode, `bystander ${pid}`).toBe(0);
      expect((killed.evidence as Record<string, any>).processes.map((process: ProcessFacts) => process.pid)).toContain(stray);
      expect((killed.evidence as Record<string, any>).unverifiedPrograms).toEqual(unverified);

      const removed = await response.perform('remove');
      expect(await hashesInHost(host, ['/bin/sh', '/usr/bin/dash'])).toEqual(shHash);
      const evidence = removed.evidence as Record<string, any>;
      expect(evidence.kept).toEqual(kept);
      expect(evidence.unverifiedPrograms).toEqual(unverified);
      expect(evidence.moved.map((file: { kind: string; from: string }) => [file.kind, file.from])).toEqual([
        ['binary', miner],
        ['unit', `/etc/systemd/system/${unit}`],
      ]);
      if (unverified) expect(removed.summary).toContain('LEFT IN PLACE, no package database to tell it from the system\'s: /usr/bin/dash');
    } finally {
      if (database !== 'dpkg') await inHost(host, ['sh', '-c', SHOW_PACKAGE_TOOLS]);
    }
    expect(await exists(host, dir)).toBe(false);
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'not-found' });
  });
});

describe('a unit that runs its miner with an interpreter built by hand into /usr/local/bin', () => {
  const unit = 'pnsd.service';
  // The interpreter: a copy of dash no package owns, as a hand-built python3 or node would be.
  const interpreter = '/usr/local/bin/soar-test-sh';
  // The miner: a copy of sleep carrying a pool URL scheme, among the system's programs too.
  const miner = '/usr/local/sbin/kswapd1';

  it('kill ends the miner wherever it runs but no other user of the interpreter; remove quarantines the miner and keeps the interpreter', async () => {
    const host = hostName(2);
    await inHost(host, ['sh', '-c', [
      `cp /bin/dash ${interpreter} && cp /bin/sleep ${miner} && printf 'stratum+tcp://' >>${miner}`,
      `printf '[Service]\\nExecStart=${interpreter} -c "${miner} 100030 & exec ${miner} 100031"\\n[Install]\\nWantedBy=multi-user.target\\n' >/etc/systemd/system/${unit}`,
      `systemctl enable --now --quiet ${unit}`,
    ].join(' && ')]);
    const stray = Number(await inHost(host, ['sh', '-c', `setsid ${miner} 100032 </dev/null >/dev/null 2>&1 & echo $!`]));
    const bystander = Number(await inHost(host, ['sh', '-c', `setsid ${interpreter} -c "sleep 100033; :" </dev/null >/dev/null 2>&1 & echo $!`]));
    const interpreterHash = await hashesInHost(host, [interpreter]);
    const minerHash = (await hashesInHost(host, [miner]))[miner];
    await eventually('the unit\'s miner to start', async () => ((await minerPids(host, miner)).length === 3 ? true : undefined));
    const response = new Response(host, { 'file.name': unit, 'file.path': `/etc/systemd/system/${unit}` });
    const leftAlone = `kill and remove leave ${interpreter} alone: no package owns it, but it sits among the system's programs and carries no miner signature`;

    const triage = await response.perform('triage');
    expect(triage.outcome).toBe('malicious');
    expect((triage.evidence as Record<string, any>).unownedPrograms).toEqual([interpreter]);
    expect(triage.summary).toContain(leftAlone);

    const killed = await response.perform('kill');
    expect(await minerPids(host, miner)).toEqual([]);
    expect((killed.evidence as Record<string, any>).processes.map((process: ProcessFacts) => process.pid)).toContain(stray);
    expect((await lab.exec(host, ['kill', '-0', String(bystander)])).exitCode, 'the interpreter\'s other user').toBe(0);

    const removed = await response.perform('remove');
    const evidence = removed.evidence as Record<string, any>;
    expect(evidence.moved.map((file: { kind: string; from: string }) => [file.kind, file.from])).toEqual([['binary', miner], ['unit', `/etc/systemd/system/${unit}`]]);
    expect(Object.values(await hashesInHost(host, [`${response.quarantine}/files${miner}`]))).toEqual([minerHash]);
    expect(await hashesInHost(host, [interpreter])).toEqual(interpreterHash);
    expect(removed.summary).toContain(`LEFT IN PLACE, no package's but among the system's programs with no miner signature (an interpreter others may run): ${interpreter}`);
    expect((await lab.exec(host, ['kill', '-0', String(bystander)])).exitCode, 'the interpreter\'s other user').toBe(0);
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'not-found' });
    await inHost(host, ['sh', '-c', `kill ${bystander}; rm -f ${interpreter}`]);
  });
});

describe('a unit whose program is a link to a path holding a newline', () => {
  const unit = 'xvf.service';
  // Read line by line, the link's target would be /tmp/xvf and a bystander's /opt/app/server.
  const hidden = '/tmp/xvf\n/opt/app/server';

  it('kill and remove never take the path for others: the bystander it names keeps running and stays in place', async () => {
    const host = hostName(2);
    await inHost(host, ['sh', '-c', [
      'mkdir -p /opt/app && cp /bin/sleep /opt/app/server',
      "printf '[Service]\\nExecStart=/opt/app/server 100020\\n' >/etc/systemd/system/app-server.service",
      'systemctl start app-server.service',
      'target=$(printf "/tmp/xvf\\n/opt/app/server") && mkdir -p "${target%/*}" && cp /bin/sleep "$target" && ln -sfn "$target" /usr/local/bin/xvf-run',
      `printf '[Service]\\nExecStart=/usr/local/bin/xvf-run 100021\\n[Install]\\nWantedBy=multi-user.target\\n' >/etc/systemd/system/${unit}`,
      `systemctl enable --now --quiet ${unit}`,
    ].join(' && ')]);
    const bystander = (await unitState(host, 'app-server.service')).MainPID!;
    const bystanderHash = await hashesInHost(host, ['/opt/app/server']);
    await eventually('the unit to run its program', async () => ((await unitState(host, unit)).MainPID !== '0' ? true : undefined));
    expect(await inHost(host, ['sh', '-c', `readlink /proc/${(await unitState(host, unit)).MainPID}/exe`])).toBe(hidden);
    const response = new Response(host, { 'file.name': unit, 'file.path': `/etc/systemd/system/${unit}` });

    const killed = await response.perform('kill');
    expect((await lab.exec(host, ['kill', '-0', bystander])).exitCode, 'the bystander').toBe(0);
    expect(await unitState(host, unit)).toMatchObject({ ActiveState: 'inactive', MainPID: '0' });
    expect((killed.evidence as Record<string, any>).unnamablePrograms).toEqual([JSON.stringify(hidden)]);

    const removed = await response.perform('remove');
    expect(removed.summary).toContain(`LEFT IN PLACE, remove by hand (a newline in the path, which soar does not act on): ${JSON.stringify(hidden)}`);
    expect((removed.evidence as Record<string, any>).moved.map((file: { from: string }) => file.from)).toEqual([`/etc/systemd/system/${unit}`]);
    expect(await hashesInHost(host, ['/opt/app/server'])).toEqual(bystanderHash);
    expect((await lab.exec(host, ['kill', '-0', bystander])).exitCode, 'the bystander').toBe(0);
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'not-found' });
    await inHost(host, ['sh', '-c', 'systemctl stop app-server.service; rm -rf /opt/app /etc/systemd/system/app-server.service /usr/local/bin/xvf-run "$(printf "/tmp/xvf\\n/")"']);
  });
});

describe('kill with mask: true, then remove', () => {
  const unit = 'xvf.service';
  const unitFile = `/usr/local/lib/systemd/system/${unit}`;
  const program = '/opt/xvf/xvf';

  it('masks a unit whose file is outside /etc, and remove lifts the mask to find and quarantine its program', async () => {
    const host = hostName(2);
    await inHost(host, ['sh', '-c', [
      // A copy of sleep with a miner's signature: among the system's programs, only a miner is taken for one.
      `mkdir -p /usr/local/lib/systemd/system /opt/xvf && cp /bin/sleep ${program} && printf 'stratum+tcp://' >>${program}`,
      `printf '[Service]\\nExecStart=${program} 100005\\nRestart=always\\n[Install]\\nWantedBy=multi-user.target\\n' >${unitFile}`,
      `systemctl enable --now --quiet ${unit}`,
    ].join(' && ')]);
    const sha256 = (await hashesInHost(host, [program]))[program];
    const response = new Response(host, { 'file.name': unit, 'file.path': unitFile });

    const killed = await response.perform('kill', { signal: 'KILL', mask: true });
    expect(killed.evidence).toMatchObject({ after: { enabled: 'masked' }, masked: expect.stringContaining('/dev/null') });
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'masked', ActiveState: 'inactive' });
    expect(await minerPids(host, program)).toEqual([]);
    expect(await response.holds('kill')).toBe(true);

    const removed = await response.perform('remove');
    const evidence = removed.evidence as Record<string, any>;
    expect(evidence.unmasked).toContain(`/etc/systemd/system/${unit}`);
    expect(evidence.moved.map((file: { kind: string; from: string }) => [file.kind, file.from])).toEqual([['binary', program], ['unit', unitFile]]);
    expect(Object.values(await hashesInHost(host, [`${response.quarantine}/files${program}`]))).toEqual([sha256]);
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'not-found' });
    expect(await response.holds('remove')).toBe(true);
  });
});

describe('a stopped unit that a target still wants', () => {
  const unit = 'aliyun.service';
  const program = '/var/tmp/.kd/kdevtmpfsi';

  it('remove reloads systemd, which held the unit through the wants link it read, and then it no longer loads', async () => {
    const host = hostName(2);
    await inHost(host, ['sh', '-c', [
      `mkdir -p /var/tmp/.kd && cp /bin/sleep ${program}`,
      `printf '[Service]\\nExecStart=${program} 100006\\n[Install]\\nWantedBy=multi-user.target\\n' >/etc/systemd/system/${unit}`,
      `systemctl enable --now --quiet ${unit} && systemctl stop ${unit}`,
    ].join(' && ')]);
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'loaded', ActiveState: 'inactive', UnitFileState: 'enabled' });
    const response = new Response(host, { 'file.name': unit, 'file.path': `/etc/systemd/system/${unit}` });

    const removed = await response.perform('remove');
    const evidence = removed.evidence as Record<string, any>;
    expect(evidence.moved.map((file: { kind: string }) => file.kind).sort()).toEqual(['binary', 'unit', 'wants']);
    expect(evidence.reloadedFrom).toBe('loaded');
    expect(await unitState(host, unit)).toMatchObject({ LoadState: 'not-found' });
    expect(await response.holds('remove')).toBe(true);
  });
});

describe('remove-unit before kill-process', () => {
  it('refuses to move files from under a running unit, with the script\'s reason in a StepFailedError', async () => {
    const host = hostName(2);
    const response = new Response(host, { 'file.name': 'c3pool_miner.service', 'file.path': '/lib/systemd/system/c3pool_miner.service' });
    const failure = await response.perform('remove').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailedError);
    expect((failure as StepFailedError).message).toContain('run kill-process first');
    expect(await unitState(host, 'c3pool_miner.service')).toMatchObject({ ActiveState: 'active', LoadState: 'loaded' });
  });
});

describe('a host whose package manager is rpm', () => {
  const unit = 'aliyun.service';
  const program = '/usr/local/aliyun/aliyun-service';
  /** A tiny rpm that ships the unit and its program (a copy of sleep), built and installed on the host itself. */
  const SPEC = [
    'Name: soar-test-agent', 'Version: 1.0', 'Release: 1', 'Summary: a harmless agent whose unit carries a miner name', 'License: none', 'BuildArch: noarch', 'AutoReqProv: no',
    '%define _binaries_in_noarch_packages_terminate_build 0', '%define __os_install_post %{nil}', '%define debug_package %{nil}',
    '%description', 'A harmless agent.',
    '%install', 'mkdir -p %{buildroot}/usr/lib/systemd/system %{buildroot}/usr/local/aliyun', `cp /bin/sleep %{buildroot}${program}`,
    `printf '[Service]\\nExecStart=${program} infinity\\n[Install]\\nWantedBy=multi-user.target\\n' >%{buildroot}/usr/lib/systemd/system/${unit}`,
    '%files', `/usr/lib/systemd/system/${unit}`, program,
  ].join('\n');

  it('asks rpm who ships the unit and its program: a false positive, until the program no longer matches its package', async () => {
    const host = hostName(0);
    await inHost(host, ['sh', '-c', [
      'mkdir -p /root/rpmbuild/SPECS && printf "%s\\n" "$1" >/root/rpmbuild/SPECS/agent.spec',
      'rpmbuild -bb --quiet /root/rpmbuild/SPECS/agent.spec 2>/dev/null',
      'rpm -i --force-debian --nodeps /root/rpmbuild/RPMS/noarch/soar-test-agent-1.0-1.noarch.rpm',
      `systemctl enable --now --quiet ${unit}`,
      // dpkg gone: to soar this is an rpm-based host.
      'mv /usr/bin/dpkg-query /usr/bin/dpkg-query.hidden && mv /usr/bin/dpkg /usr/bin/dpkg.hidden',
    ].join(' && '), 'sh', SPEC]);
    try {
      const response = new Response(host, { 'file.name': unit, 'file.path': `/usr/lib/systemd/system/${unit}` });
      const result = await response.perform('triage');
      expect(result.outcome).toBe('false_positive');
      expect(result.summary).toMatch(new RegExp(`/lib/systemd/system/${unit.replace('.', '\\.')} ships unmodified in package soar-test-agent`));
      expect(result.summary).toContain(`${program} ships unmodified in package soar-test-agent`);

      // The program changed on disk: rpm -V says so, and it is no longer the package's.
      await inHost(host, ['sh', '-c', `systemctl stop ${unit} && echo patched >>${program} && systemctl start ${unit}`]);
      const changed = await new Response(host, { 'file.name': unit, 'file.path': `/usr/lib/systemd/system/${unit}` }).perform('triage');
      expect(changed.outcome).not.toBe('false_positive');
      expect((changed.evidence as Record<string, any>).binaries).toEqual([expect.objectContaining({ path: program, package: 'soar-test-agent', packageModified: true })]);
    } finally {
      await inHost(host, ['sh', '-c', `mv /usr/bin/dpkg-query.hidden /usr/bin/dpkg-query && mv /usr/bin/dpkg.hidden /usr/bin/dpkg && systemctl disable --now --quiet ${unit} && rpm -e --force-debian --nodeps soar-test-agent`]);
    }
  });
});

describe('one soar command at a time on a host', () => {
  // Another soar command on the host: one a process sent before it stalled past its lease, or one
  // from a second soar with a store of its own. Each takes /run/soar.lock as the prelude does.
  const LOCK = '/run/soar.lock';
  let host: string;
  let response: Response;

  beforeAll(async () => {
    host = hostName(1);
    await lab.infect(host, 'c3pool_miner.service');
    response = new Response(host, { 'file.name': 'c3pool_miner.service', 'file.path': '/etc/systemd/system/c3pool_miner.service' });
  }, 120_000);

  /**
   * Holds the host's lock for `seconds` from inside the host. Resolves once it is held, with when
   * the hold ends (ms since the epoch, from the host's clock), wrapped: an async function's
   * promise would otherwise wait for it.
   */
  async function holdLock(seconds: number): Promise<{ released: Promise<number> }> {
    const marker = `/run/soar-test-held-${seconds}`;
    const held = lab.exec(host, ['flock', LOCK, 'sh', '-c', 'touch "$1"; sleep "$2"; date +%s%3N', 'hold', marker, String(seconds)]);
    await eventually('the other command to hold the host', async () => ((await lab.exec(host, ['test', '-e', marker])).exitCode === 0 ? true : undefined));
    return { released: held.then((result) => Number(result.stdout.trim())) };
  }

  it('a command waits while another holds the host, and runs once that one has ended', async () => {
    const { released } = await holdLock(3);
    const said: string[] = [];
    const io: StepIo = {
      ...response.io,
      observe: (event) => {
        if (event.phase === 'returned') said.push(event.result.stdout);
      },
    };
    const result = await response.perform('triage', undefined, io);
    const returned = Date.now();
    expect(result.outcome).toBe('malicious');
    // Its first record says it waited: the trail's timeline shows that.
    expect(said).toEqual([expect.stringMatching(/^host_busy=1\0/)]);
    // Without the lock triage is back in well under a second, while the other still holds the host.
    expect(returned).toBeGreaterThanOrEqual(await released);
    // With the host free, nothing is said.
    await response.perform('triage', undefined, io);
    expect(said[1]).not.toContain('host_busy=');
  });

  it('a command that cannot have the host within 30 s fails, retryable, having done nothing: the miner still runs', async () => {
    const before = await unitState(host, 'c3pool_miner.service');
    const { released } = await holdLock(45);
    try {
      const failure = await response.perform('kill').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StepFailedError);
      expect((failure as StepFailedError).message).toContain(`another soar command has held this host (${LOCK}) for 30 s, so this one did nothing`);
      expect((failure as StepFailedError).retryable).toBe(true);
      expect(await unitState(host, 'c3pool_miner.service')).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled', MainPID: before.MainPID });
    } finally {
      await lab.exec(host, ['pkill', '-x', '-f', 'sleep 45']);
      await released;
    }
  }, 60_000);
});
