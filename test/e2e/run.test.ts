import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab, type LabHost, type MinerUnit } from '../lab/lab.js';
import { onHost, soar, startWebhook, tcpConnects, writeAlert, writeAlerts, writeSoarConfig, type Webhook } from './support.js';

const LAB_ID = 5;
const TOKEN = 'test-webhook-token';
const ENV = { SOAR_TEST_WEBHOOK_AUTH: `Bearer ${TOKEN}` };

let lab: Lab;
let webhook: Webhook;
let config: string;

beforeAll(async () => {
  [lab, webhook] = await Promise.all([startLab({ hosts: 3, lab: LAB_ID }), startWebhook(TOKEN)]);
  config = await writeSoarConfig(lab, webhook);
}, 600_000);

afterAll(async () => {
  await Promise.all([lab?.down(), webhook?.close()]);
}, 120_000);

const host = (index: number): LabHost => lab.hosts[index]!;
/** The mining-service run that responded on each host. */
const responses = new Map<string, string>();

interface Report {
  runId: string;
  host: string;
  status: string;
  outcomes: Record<string, string>;
  escalation?: { reason: string; step: string; detail?: string };
  results: Record<string, { outcome: string; summary: string; changed: boolean; evidence: Record<string, unknown> }>;
}

async function respond(target: LabHost, fields: Record<string, unknown>) {
  const alert = await writeAlert(lab, target.name, fields);
  const run = await soar(['run', '--json', '--alert', alert, '--config', config, '--approve-as', 'demo-analyst', '--reason', 'e2e: miner confirmed', '--store', `${lab.dir}/soar.db`], ENV);
  const [report] = JSON.parse(run.stdout || '[]') as Report[];
  return { exitCode: run.exitCode, stderr: run.stderr, report: report! };
}

const sha256 = (lab: Lab, target: LabHost, path: string) => onHost(lab, target.name, `sha256sum ${path} | cut -d' ' -f1`).then((out) => out.trim());

/** Every miner process on the host, found by the kernel's view of their executables. */
const minerPids = (target: LabHost, dir: string) =>
  onHost(lab, target.name, `for p in /proc/[0-9]*; do [ "$(readlink $p/exe)" = /root/${dir}/xmrig ] && echo \${p#/proc/}; done; true`).then((out) => out.trim());

const FULL_RUNS = [
  { index: 0, unit: 'c3pool_miner.service' as MinerUnit, dir: 'c3pool', path: '/tmp/c3pool_miner.service', staging: true },
  { index: 1, unit: 'moneroocean_miner.service' as MinerUnit, dir: 'moneroocean', path: '/etc/systemd/system/moneroocean_miner.service', staging: false },
];

/** The records of a run, in the order the store's trail holds them. */
const trailOf = async (runId: string) => {
  const exported = await soar(['audit', 'export', runId, '--format', 'json', '--store', `${lab.dir}/soar.db`, '--config', config]);
  return (JSON.parse(exported.stdout) as { records: Array<{ seq: number; kind: string; data: Record<string, unknown> }> }).records;
};

describe('one soar run given alerts for two infected hosts', () => {
  let fleet: { exitCode: number | undefined; stderr: string; reports: Report[] };
  const before = new Map<number, { unit: string; binary: string; startedAt: number }>();

  beforeAll(async () => {
    await Promise.all(
      FULL_RUNS.map(async ({ index, unit, dir, staging }) => {
        const target = host(index);
        await lab.infect(target.name, unit, { staging });
        before.set(index, { unit: await sha256(lab, target, `/etc/systemd/system/${unit}`), binary: await sha256(lab, target, `/root/${dir}/xmrig`), startedAt: Date.now() });
        expect(await minerPids(target, dir)).not.toBe('');
      }),
    );
    const alerts = await writeAlerts(lab, FULL_RUNS.map(({ index, unit, path }) => ({ host: host(index).name, fields: { 'file.name': unit, 'file.path': path } })));
    const run = await soar(['run', '--json', '--alert', alerts, '--config', config, '--approve-as', 'demo-analyst', '--reason', 'e2e: miner confirmed', '--store', `${lab.dir}/soar.db`], ENV);
    fleet = { exitCode: run.exitCode, stderr: run.stderr, reports: JSON.parse(run.stdout || '[]') as Report[] };
    for (const [index, report] of fleet.reports.entries()) responses.set(host(index).name, report.runId);
  }, 180_000);

  it('responds to both hosts at once: each run acts before the other has ended', async () => {
    expect(fleet.reports.map((report) => report.host)).toEqual(FULL_RUNS.map(({ index }) => host(index).name));
    const [first, second] = await Promise.all(fleet.reports.map((report) => trailOf(report.runId)));
    const acted = (records: Array<{ seq: number; kind: string }>) => records.find((record) => record.kind === 'step.started')!.seq;
    expect(acted(first!)).toBeLessThan(second!.at(-1)!.seq);
    expect(acted(second!)).toBeLessThan(first!.at(-1)!.seq);
  });

  describe.each(FULL_RUNS)('the full run on the host infected with $unit (alert path $path)', ({ index, unit, dir, path, staging }) => {
    const report = () => fleet.reports[index]!;

    it('completes every step, contained, with exit 0', () => {
      expect(fleet.stderr).toContain('finished: done');
      expect(fleet.exitCode).toBe(0);
      expect(report().escalation).toBeUndefined();
      expect(report().outcomes).toEqual({ triage: 'malicious', isolate: 'isolated', kill: 'killed', remove: 'quarantined', scan: expect.any(String), escalate: 'delivered' });
    });

    it('leaves the unit unloadable and its file and binary in quarantine with matching hashes', async () => {
      const target = host(index);
      expect(await onHost(lab, target.name, `systemctl show -p LoadState --value ${unit}`)).toBe('not-found\n');
      const quarantine = `/var/lib/soar/quarantine/${report().runId}`;
      expect(await sha256(lab, target, `${quarantine}/files/etc/systemd/system/${unit}`)).toBe(before.get(index)!.unit);
      expect(await sha256(lab, target, `${quarantine}/files/root/${dir}/xmrig`)).toBe(before.get(index)!.binary);
      expect(await onHost(lab, target.name, `grep -c xmrig ${quarantine}/MANIFEST.sha256`)).not.toBe('0\n');
      if (staging) expect(await onHost(lab, target.name, `test -f ${quarantine}/files${path} && echo kept`)).toBe('kept\n');
    });

    it('leaves no miner process, and the pool saw the connection die', async () => {
      expect(await minerPids(host(index), dir)).toBe('');
      const events = await lab.poolEvents();
      const mine = events.filter((event) => event.peer.startsWith(`${host(index).address}:`) && event.t >= before.get(index)!.startedAt);
      expect(mine.map((event) => event.event)).toContain('close');
    });

    it('refuses new connections from a third party while SSH from the management address works', async () => {
      const target = host(index);
      expect(await tcpConnects(lab.outsider.netns, target.address, 22)).toBe(false);
      const viaSsh = await execa('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-i', lab.identityFile, `root@${target.address}`, 'echo reached'], { reject: false });
      expect(viaSsh.stdout).toBe('reached');
      expect(await onHost(lab, target.name, 'nft list table inet soar_isolation >/dev/null && echo isolated')).toBe('isolated\n');
    });

    it('scan reports no remaining miner, and the webhook received exactly one escalation', () => {
      const findings = (report().results.scan!.evidence.findings as Array<{ kind: string }>).map((finding) => finding.kind);
      expect(findings).not.toContain('miner_process');
      expect(findings).not.toContain('pool_connection');
      const cases = webhook.cases.filter((soc) => soc.runId === report().runId);
      expect(cases).toHaveLength(1);
      expect(cases[0]).toMatchObject({ status: 'contained', verdict: 'malicious', target: { unit, host: { name: host(index).name } } });
    });
  });
});

describe('after the full runs', () => {
  it('no miner respawned 30 s later (Restart=always was defeated)', async () => {
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    expect(await minerPids(host(0), 'c3pool')).toBe('');
    expect(await minerPids(host(1), 'moneroocean')).toBe('');
  }, 60_000);

  it('running the playbook again on the same host changes nothing and says so', async () => {
    const target = host(0);
    // What any step could change: the firewall, units, the quarantine, the installer's files.
    const snapshot = 'nft list ruleset; systemctl list-unit-files --no-legend; find /etc/systemd /var/lib/soar /root /tmp -xdev | sort; find /var/lib/soar -type f -exec sha256sum {} +';
    const hostBefore = await onHost(lab, target.name, snapshot);
    const again = await respond(target, { 'file.name': 'c3pool_miner.service' });
    expect(again.exitCode).toBe(0);
    expect(again.report.outcomes.triage).toBe('not_found');
    expect(Object.values(again.report.results).map((result) => result.changed)).not.toContain(true);
    expect(again.stderr).toMatch(/triage: not_found: /);
    expect(await onHost(lab, target.name, snapshot)).toBe(hostBefore);
  });
});

describe('releasing a host', () => {
  it('lifts the isolation after its own approval, and a second release is harmless', async () => {
    const target = host(1);
    const release = (reason: string) =>
      soar(['release', responses.get(target.name)!, '--json', '--config', config, '--store', `${lab.dir}/soar.db`, '--approve-as', 'demo-analyst', '--reason', reason], ENV);
    expect(await tcpConnects(lab.outsider.netns, target.address, 22)).toBe(false);
    const first = await release('incident closed');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'done', outcomes: { release: 'released', escalate: 'delivered' } });
    expect(await onHost(lab, target.name, 'nft list table inet soar_isolation >/dev/null 2>&1 && echo isolated || echo open')).toBe('open\n');
    expect(await tcpConnects(lab.outsider.netns, target.address, 22)).toBe(true);
    const again = await release('again');
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('exists already');
  });
});

describe('two soar run processes given the same alert', () => {
  it('carry its run out once: one drives, the other waits for it and reports the same run', async () => {
    const target = host(2);
    await lab.infect(target.name, 'c3pool_miner.service', { staging: true });
    const alert = await writeAlert(lab, target.name, { 'file.name': 'c3pool_miner.service' });
    const args = ['run', '--json', '--alert', alert, '--config', config, '--approve-as', 'demo-analyst', '--reason', 'e2e: twice', '--store', `${lab.dir}/soar.db`];
    const both = await Promise.all([soar(args, ENV), soar(args, ENV)]);
    for (const run of both) expect(run.exitCode, run.stderr).toBe(0);
    const [first, second] = both.map((run) => (JSON.parse(run.stdout) as Report[])[0]!);
    expect(second!.runId).toBe(first!.runId);
    expect(first!.outcomes).toMatchObject({ triage: 'malicious', kill: 'killed', remove: 'quarantined' });
    expect(both.filter((run) => run.stderr.includes('driven by another soar process'))).toHaveLength(1);
    const started = (await trailOf(first!.runId)).filter((record) => record.kind === 'step.started');
    expect(started).toHaveLength(6);
    expect(await onHost(lab, target.name, 'systemctl show -p LoadState --value c3pool_miner.service')).toBe('not-found\n');
    // The next test needs the host reachable from everywhere again.
    await onHost(lab, target.name, 'nft delete table inet soar_isolation');
  });
});

describe('a host soar reaches as a user who is not root', () => {
  it('runs every step through sudo -n, and isolation still keeps that user\'s management SSH', async () => {
    const target = host(2);
    await lab.infect(target.name, 'c3pool_miner.service', { staging: true });
    const inventory = parse(await readFile(config, 'utf8')) as { hosts: Record<string, { user: string }> };
    inventory.hosts[target.name]!.user = 'responder';
    const sudoConfig = join(lab.dir, 'soar-sudo.yaml');
    await writeFile(sudoConfig, stringify(inventory));
    const alert = await writeAlert(lab, target.name, { 'file.name': 'c3pool_miner.service' });
    const since = (await onHost(lab, target.name, 'date +%s')).trim();
    const run = await soar(['run', '--json', '--alert', alert, '--config', sudoConfig, '--approve-as', 'demo-analyst', '--reason', 'e2e: sudo', '--store', `${lab.dir}/soar.db`], ENV);
    expect(run.exitCode, run.stderr).toBe(0);
    const [report] = JSON.parse(run.stdout) as Report[];
    expect(report!.outcomes).toMatchObject({ triage: 'malicious', isolate: 'isolated', kill: 'killed', remove: 'quarantined' });
    // sudo drops SSH_CONNECTION: isolate found the session from its sshd's socket, and the user's SSH still works.
    expect(report!.results.isolate!.evidence).toMatchObject({ managementSource: 'sshd_socket', sshPort: 22 });
    expect(await onHost(lab, target.name, 'systemctl show -p LoadState --value c3pool_miner.service')).toBe('not-found\n');
    // The host's own logs: soar logged in as responder only, and each command it sent ran through sudo.
    const sent = (await trailOf(report!.runId)).filter((record) => record.kind === 'command.sent');
    const journal = await onHost(lab, target.name, `journalctl -q --no-pager --since @${since} _COMM=sshd _COMM=sudo`);
    expect(journal).toMatch(/Accepted publickey for responder /);
    expect(journal).not.toMatch(/Accepted publickey for root /);
    expect(journal.match(/responder : .*USER=root ; COMMAND=\/usr\/bin\/timeout /g)).toHaveLength(sent.length);
    const login = await execa('ssh', ['-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-i', lab.identityFile, `responder@${target.address}`, 'id -un; sudo -n id -u'], { reject: false });
    expect(login.stdout).toBe('responder\n0');
    // The next test needs the host reachable from everywhere again.
    await onHost(lab, target.name, 'nft delete table inet soar_isolation');
  });
});

describe('a host that refuses the connection', () => {
  it('ends the run escalated, with the reason', async () => {
    const target = host(2);
    await lab.infect(target.name, 'c3pool_miner.service');
    await onHost(lab, target.name, 'systemctl stop ssh.socket ssh.service 2>/dev/null; systemctl stop ssh; true');
    const run = await respond(target, {});
    expect(run.exitCode).toBe(1);
    expect(run.report.escalation).toMatchObject({ reason: 'step_failed', step: 'triage' });
    expect(run.report.escalation!.detail).toMatch(/CONNECTION_REFUSED/);
    const cases = webhook.cases.filter((soc) => soc.runId === run.report.runId);
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ status: 'step_failed' });
    // Nothing was done to the host: the miner still runs.
    expect(await minerPids(target, 'c3pool')).not.toBe('');
  }, 90_000);
});
