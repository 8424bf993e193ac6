import { describe, expect, it } from 'vitest';
import { StepFailedError } from '../../../src/actions/failure.js';
import { triage } from '../../../src/actions/triage.js';
import { defaultConfig, type Config } from '../../../src/config/config.js';
import { contextFor, runOf, thrownBy } from './runs.js';

// Records from triage.sh on lab hosts, trimmed to what each case needs.

/** c3pool_miner.service as the installer leaves it (staging copy in /tmp, chattr +i), miner running. */
const INFECTED = [
  'unit=c3pool_miner.service',
  'systemd.LoadState=loaded', 'systemd.ActiveState=active', 'systemd.SubState=running', 'systemd.UnitFileState=enabled',
  'systemd.FragmentPath=/etc/systemd/system/c3pool_miner.service', 'systemd.DropInPaths=', 'systemd.MainPID=87',
  'systemd.ControlGroup=/system.slice/c3pool_miner.service',
  'systemd.ExecStart={ path=/root/c3pool/xmrig ; argv[]=/root/c3pool/xmrig --config=/root/c3pool/config.json ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }',
  'systemd.NRestarts=0',
  'fragment.path=/etc/systemd/system/c3pool_miner.service', 'fragment.sha256=b790c14eb0ecbfa8af843ca1a593505c997bc386ff918096dc074f9b8733751d', 'fragment.mtime=1795444373', 'fragment.attrs=----i---------e-------',
  'hint.path=/tmp/c3pool_miner.service', 'hint.sha256=b790c14eb0ecbfa8af843ca1a593505c997bc386ff918096dc074f9b8733751d', 'hint.mtime=1795444373', 'hint.attrs=----------------------',
  'wants.path=/etc/systemd/system/multi-user.target.wants/c3pool_miner.service', 'wants.link=/etc/systemd/system/c3pool_miner.service', 'wants.attrs=',
  'binary.path=/root/c3pool/xmrig', 'binary.sha256=9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93', 'binary.mtime=1795444372', 'binary.attrs=----i---------e-------', 'binary.miner_strings=',
  'config.path=/root/c3pool/config.json', 'config.pool="url": "stratum+tcp://198.19.2.2:3333"',
  'proc=87', 'proc.87.exe=/root/c3pool/xmrig', 'proc.87.cwd=/', 'proc.87.cmdline=/root/c3pool/xmrig --config=/root/c3pool/config.json ',
  'proc.87.stat=      1 root                              0.0     397 xmrig', 'proc.87.sha256=9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93',
  'writer.alive=1', 'writer.exe=/usr/bin/sleep', 'writer.cmdline=sleep 100000 ',
  'conn=0      0      198.18.2.2:59982 198.19.2.2:3333 users:(("xmrig",pid=87,fd=3))',
  'conn=0      0      198.18.2.2:22 198.18.2.1:37818 users:(("sshd",pid=1623,fd=4))',
  'done=1',
];

/** A package (soar-test-agent) ships c3pool_miner.service running /bin/sleep infinity, enabled. */
const PACKAGED = [
  'unit=c3pool_miner.service',
  'systemd.LoadState=loaded', 'systemd.ActiveState=active', 'systemd.UnitFileState=enabled', 'systemd.MainPID=76',
  'systemd.FragmentPath=/lib/systemd/system/c3pool_miner.service', 'systemd.DropInPaths=',
  'fragment.path=/lib/systemd/system/c3pool_miner.service', 'fragment.sha256=93b04fd5552665303392b2e044167b8908a5f327ce8d05c09159f6f1b410d61d', 'fragment.attrs=--------------e-------', 'fragment.package=soar-test-agent',
  'wants.path=/etc/systemd/system/multi-user.target.wants/c3pool_miner.service', 'wants.link=/lib/systemd/system/c3pool_miner.service', 'wants.attrs=',
  'binary.path=/bin/sleep', 'binary.sha256=4add4bb89d8ca0e3b1bd861130ddd7ae0fd9617a8055de0a38c8d2ca1ac95723', 'binary.attrs=--------------e-------', 'binary.package=coreutils', 'binary.miner_strings=',
  'proc=76', 'proc.76.exe=/usr/bin/sleep', 'proc.76.cwd=/', 'proc.76.cmdline=/bin/sleep infinity ', 'proc.76.stat=      1 root                              0.0       0 sleep',
  'done=1',
];

/** After remove-unit: systemd does not know the unit, the alert's path is gone. */
const GONE = [
  'unit=moneroocean_miner.service', 'systemd.LoadState=not-found', 'systemd.ActiveState=inactive', 'systemd.UnitFileState=', 'systemd.FragmentPath=', 'systemd.MainPID=0',
  'hint.path=/etc/systemd/system/moneroocean_miner.service', 'hint.missing=1', 'done=1',
];

const without = (lines: string[], prefix: string) => lines.filter((line) => !line.startsWith(prefix));
const withLines = (lines: string[], ...more: string[]) => [...lines.slice(0, -1), ...more, 'done=1'];

function triageOf(lines: string[], options: { config?: Config; unit?: string } = {}) {
  const unit = options.unit ?? 'c3pool_miner.service';
  const context = contextFor({ 'file.name': unit, 'file.path': `/tmp/${unit}` }, options.config);
  return triage.interpret({}, [runOf(...lines)], context);
}

describe('triage verdicts', () => {
  it('an installed miner is malicious: evidence names the running program, its hash, its pool and its config', () => {
    const result = triageOf(INFECTED);
    expect(result.outcome).toBe('malicious');
    expect(result.changed).toBe(false);
    expect(result.summary).toBe(
      'config names pool "url": "stratum+tcp://198.19.2.2:3333"; miner process xmrig[87]; ' +
        'connected to pool port(s): 198.19.2.2:3333 (xmrig[87]); program in /root/c3pool/xmrig; copies outside packages: /tmp/c3pool_miner.service',
    );
    const evidence = result.evidence as Record<string, any>;
    expect(evidence.systemd).toMatchObject({ loadState: 'loaded', activeState: 'active', unitFileState: 'enabled', mainPid: 87, controlGroup: '/system.slice/c3pool_miner.service' });
    expect(evidence.processes).toEqual([expect.objectContaining({ pid: 87, exe: '/root/c3pool/xmrig', sha256: '9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93' })]);
    // The SSH connection is not the unit's: only the miner's pool connection is evidence.
    expect(evidence.poolConnections).toEqual([expect.objectContaining({ peer: '198.19.2.2:3333' })]);
    expect(evidence.fragment).toMatchObject({ immutable: true });
    expect(evidence.hint).toMatchObject({ path: '/tmp/c3pool_miner.service', exists: true });
    expect(evidence.writer).toEqual({ alive: true, exe: '/usr/bin/sleep', cmdline: 'sleep 100000' });
  });

  it('each miner mark alone is enough: a pool config, a miner\'s name, miner strings, a pool connection', () => {
    const bare = without(without(without(INFECTED, 'config.'), 'conn='), 'proc.87.stat');
    expect(triageOf(bare).outcome).toBe('suspicious');
    expect(triageOf(withLines(bare, 'config.pool="url": "pool.supportxmr.com:443"')).outcome).toBe('malicious');
    expect(triageOf(withLines(bare, 'proc.87.stat=      1 root 99.0 397 kdevtmpfsi')).summary).toContain('miner process kdevtmpfsi[87]');
    const strings = bare.map((line) => (line === 'binary.miner_strings=' ? 'binary.miner_strings=donate.v2.xmrig.com randomx ' : line));
    expect(triageOf(strings).summary).toContain('/root/c3pool/xmrig contains donate.v2.xmrig.com, randomx');
    expect(triageOf(withLines(bare, 'conn=0      0      198.18.2.2:40000 203.0.113.9:14444 users:(("kworker",pid=87,fd=5))')).summary).toContain('203.0.113.9:14444 (kworker[87])');
    // A pool-port connection of another process says nothing about this unit.
    expect(triageOf(withLines(bare, 'conn=0      0      198.18.2.2:40000 203.0.113.9:14444 users:(("curl",pid=999,fd=5))')).outcome).toBe('suspicious');
  });

  it('a unit that a package ships unmodified, running a packaged program, is a false positive', () => {
    const result = triageOf(PACKAGED);
    expect(result.outcome).toBe('false_positive');
    expect(result.summary).toBe(
      '/lib/systemd/system/c3pool_miner.service ships unmodified in package soar-test-agent; /bin/sleep ships unmodified in package coreutils',
    );
  });

  it('a package\'s word is void when anything of the unit is outside it', () => {
    const cases: Array<[string, string[]]> = [
      ['the unit file was modified', PACKAGED.flatMap((line) => (line === 'fragment.package=soar-test-agent' ? [line, 'fragment.package_modified=1'] : [line]))],
      ['the program was modified', withLines(PACKAGED, 'binary.package_modified=1')],
      ['a drop-in no package ships', withLines(PACKAGED, 'dropin.path=/etc/systemd/system/c3pool_miner.service.d/override.conf', 'dropin.sha256=1f')],
      ['another program no package ships', withLines(PACKAGED, 'binary.path=/root/.cache/kworker', 'binary.sha256=2e')],
      ['a copy in /tmp', withLines(PACKAGED, 'copy.path=/tmp/c3pool_miner.service', 'copy.sha256=93b0')],
      ['a regular file in a .wants directory', withLines(PACKAGED, 'wants.path=/etc/systemd/system/default.target.wants/c3pool_miner.service', 'wants.sha256=93b0')],
    ];
    for (const [why, lines] of cases) expect(triageOf(lines).outcome, why).toBe('suspicious');
  });

  it('a packaged unit that mines is suspicious, never a false positive', () => {
    const mining = PACKAGED.map((line) => (line === 'binary.miner_strings=' ? 'binary.miner_strings=stratum+tcp:// ' : line));
    const result = triageOf(mining);
    expect(result.outcome).toBe('suspicious');
    expect(result.summary).toContain("yet it shows a miner's marks: /bin/sleep contains stratum+tcp://");
  });

  it('the allow-list vouches by unit, program path and hash together', () => {
    const agent = [
      'systemd.LoadState=loaded', 'systemd.FragmentPath=/etc/systemd/system/aliyun.service',
      'fragment.path=/etc/systemd/system/aliyun.service', 'fragment.sha256=aa',
      'binary.path=/usr/local/share/aliyun-assist/2.5.3.400/aliyun-service', 'binary.sha256=' + 'ab'.repeat(32),
      'proc=640', 'proc.640.stat=      1 root 0.3 99 aliyun-service',
      // The agent talks HTTP: port 80 is in C3Pool's list, and does not void an allow-list entry.
      'conn=0      0      10.0.12.34:51000 100.100.100.200:80 users:(("aliyun-service",pid=640,fd=7))',
      'done=1',
    ];
    const entry = { unit: 'aliyun.service', binary: '/usr/local/share/aliyun-assist/2.5.3.400/aliyun-service', sha256: 'ab'.repeat(32), reason: 'Alibaba Cloud Assistant' };
    const config = (entries: Array<typeof entry>): Config => ({ ...defaultConfig(), allowlist: entries });
    const allowed = triageOf(agent, { config: config([entry]), unit: 'aliyun.service' });
    expect(allowed.outcome).toBe('false_positive');
    expect(allowed.summary).toBe(`allow-listed: Alibaba Cloud Assistant (${entry.binary}, sha256 ${entry.sha256})`);
    for (const wrong of [{ ...entry, sha256: 'cd'.repeat(32) }, { ...entry, binary: '/tmp/aliyun-service' }, { ...entry, unit: 'xvf.service' }]) {
      expect(triageOf(agent, { config: config([wrong]), unit: 'aliyun.service' }).outcome).toBe('malicious');
    }
  });

  it('nothing of the unit on the host is not_found', () => {
    const result = triageOf(GONE, { unit: 'moneroocean_miner.service' });
    expect(result.outcome).toBe('not_found');
    expect(result.summary).toBe('systemd does not know moneroocean_miner.service and none of its files or processes are on the host');
  });

  it('a unit file systemd does not load (a stray file in .wants) is still suspicious', () => {
    const stray = withLines(GONE, 'wants.path=/etc/systemd/system/default.target.wants/moneroocean_miner.service', 'wants.sha256=25a0');
    expect(triageOf(stray, { unit: 'moneroocean_miner.service' }).outcome).toBe('suspicious');
  });

  it('output cut short is a retryable failure, not a verdict', () => {
    const failure = thrownBy(() => triageOf(INFECTED.slice(0, 20)));
    expect(failure).toBeInstanceOf(StepFailedError);
    expect((failure as StepFailedError).retryable).toBe(true);
  });
});

describe('triage plan', () => {
  it('passes unit, path hint and writer PID as whole arguments after a constant script', () => {
    const context = contextFor({ 'file.path': '/tmp/c3pool_miner.service', 'process.pid': 4421 });
    const [planned] = triage.plan({}, context);
    expect(planned?.where).toBe('host');
    if (planned?.where !== 'host') return;
    const [sh, flag, script, name, ...args] = planned.command.argv;
    expect([sh, flag, name]).toEqual(['sh', '-c', 'soar-triage']);
    expect(script).not.toContain('c3pool');
    expect(args).toEqual(['c3pool_miner.service', '/tmp/c3pool_miner.service', '4421']);
  });
});
