import { describe, expect, it } from 'vitest';
import { StepFailedError } from '../../../src/actions/failure.js';
import { killProcess } from '../../../src/actions/kill-process.js';
import { contextFor, recordsOf, runOf, thrownBy } from './runs.js';

// Records from kill-process.sh and kill-process-verify.sh on a lab host with moneroocean_miner.service.

const FIRST_RUN = [
  'binary=/root/moneroocean/xmrig',
  'before.active=active', 'before.enabled=enabled',
  'proc=87', 'proc.87.exe=/root/moneroocean/xmrig', 'proc.87.cwd=/', 'proc.87.cmdline=/root/moneroocean/xmrig --config=/root/moneroocean/config.json ',
  'proc.87.stat=      1 root                              0.0       0 xmrig', 'proc.87.sha256=9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93',
  'conn=0      0      198.18.2.2:40794 198.19.2.2:3333 users:(("xmrig",pid=87,fd=3))',
  'conn=0      0      198.18.2.2:22 198.18.2.1:37818 users:(("sshd",pid=1623,fd=4))',
  'disabled=Removed "/etc/systemd/system/multi-user.target.wants/moneroocean_miner.service".',
  'after.active=inactive', 'after.enabled=disabled',
  'done=1',
];

const SECOND_RUN = [
  'binary=/root/moneroocean/xmrig',
  'before.active=inactive', 'before.enabled=disabled',
  'disabled=',
  'mask_failed=Failed to mask unit: File /etc/systemd/system/moneroocean_miner.service already exists.',
  'after.active=inactive', 'after.enabled=disabled',
  'done=1',
];

const context = contextFor({ 'file.name': 'moneroocean_miner.service', 'file.path': '/etc/systemd/system/moneroocean_miner.service' });
const interpret = (lines: string[]) => killProcess.interpret({ signal: 'KILL', mask: false }, [runOf(...lines)], context);

describe('kill-process results', () => {
  it('the first run stops the miner, with its evidence captured before the kill', () => {
    const result = interpret(FIRST_RUN);
    expect(result).toMatchObject({ outcome: 'killed', changed: true });
    expect(result.summary).toBe('stopped 1 process(es): xmrig[87] /root/moneroocean/xmrig; moneroocean_miner.service is inactive, disabled');
    const evidence = result.evidence as Record<string, any>;
    expect(evidence).toMatchObject({
      unit: 'moneroocean_miner.service',
      programs: ['/root/moneroocean/xmrig'],
      before: { active: 'active', enabled: 'enabled' },
      after: { active: 'inactive', enabled: 'disabled' },
      disabled: 'Removed "/etc/systemd/system/multi-user.target.wants/moneroocean_miner.service".',
    });
    expect(evidence.processes).toEqual([expect.objectContaining({ pid: 87, cmdline: '/root/moneroocean/xmrig --config=/root/moneroocean/config.json', sha256: '9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93' })]);
    // Only the killed processes' connections: the SSH session is not evidence of the miner.
    expect(evidence.connections).toEqual([expect.objectContaining({ peer: '198.19.2.2:3333' })]);
  });

  it('a second run changes nothing and says nothing was left; a refused mask is reported, not hidden', () => {
    const result = interpret(SECOND_RUN);
    expect(result).toMatchObject({ outcome: 'killed', changed: false });
    expect(result.summary).toBe('nothing was left to kill: moneroocean_miner.service is inactive, disabled and none of its processes runs');
    expect((result.evidence as Record<string, any>).maskFailed).toContain('already exists');
  });

  it('disabling a unit whose processes were already gone is a change, and says so', () => {
    const lines = SECOND_RUN.map((line) => (line === 'before.enabled=disabled' ? 'before.enabled=enabled' : line));
    const result = interpret(lines);
    expect(result.changed).toBe(true);
    expect(result.summary).toBe('no process of moneroocean_miner.service was running; it is now inactive, disabled (was inactive, enabled)');
  });

  it('a process left, or a unit still enabled, is a retryable failure that says why', () => {
    const left = thrownBy(() => interpret([...FIRST_RUN.slice(0, -1), 'left=87', 'left=91', 'done=1']));
    expect(left).toBeInstanceOf(StepFailedError);
    expect((left as StepFailedError).message).toBe('kill-process did not hold: processes still running: 87, 91');
    expect((left as StepFailedError).retryable).toBe(true);

    const enabled = FIRST_RUN.map((line) =>
      line.startsWith('disabled=') ? 'disable_failed=Failed to disable unit: Access denied' : line === 'after.enabled=disabled' ? 'after.enabled=enabled' : line);
    expect((thrownBy(() => interpret(enabled)) as Error).message).toBe(
      'kill-process did not hold: moneroocean_miner.service is inactive and enabled (systemctl disable said: Failed to disable unit: Access denied)',
    );
    expect(thrownBy(() => interpret(FIRST_RUN.slice(0, -1)))).toBeInstanceOf(StepFailedError);
  });
});

describe('kill-process verify', () => {
  const { command, holds } = killProcess.verify!({ signal: 'KILL', mask: false }, context);

  it('does not hold on an infected host, holds once the unit is stopped, disabled and empty', () => {
    expect(holds(recordsOf('active=active', 'enabled=enabled', 'left=87', 'done=1'))).toBe(false);
    expect(holds(recordsOf('active=inactive', 'enabled=disabled', 'done=1'))).toBe(true);
    expect(holds(recordsOf('active=failed', 'enabled=', 'done=1'))).toBe(true);
  });

  it('does not hold while anything could bring the miner back, or when the answer is cut short', () => {
    expect(holds(recordsOf('active=inactive', 'enabled=disabled', 'left=91', 'done=1'))).toBe(false);
    expect(holds(recordsOf('active=activating', 'enabled=disabled', 'done=1'))).toBe(false);
    expect(holds(recordsOf('active=inactive', 'enabled=enabled', 'done=1'))).toBe(false);
    expect(holds(recordsOf('active=inactive', 'enabled=disabled'))).toBe(false);
  });

  it('is a read-only script of its own taking only the unit', () => {
    expect(command.argv.slice(3)).toEqual(['soar-kill-process-verify', 'moneroocean_miner.service']);
    expect(command.argv[2]).not.toMatch(/systemctl (disable|mask|stop|kill)|\bkill -/);
  });
});

describe('kill-process plan', () => {
  it('never passes the alert\'s writer PID: only the unit, the signal and the mode', () => {
    const writer = contextFor({ 'process.pid': 4421 });
    for (const params of [killProcess.params.parse({}), killProcess.params.parse({ signal: 'TERM', mask: true })]) {
      const [planned] = killProcess.plan(params, writer);
      if (planned?.where !== 'host') throw new Error('kill-process plans a host command');
      expect(planned.command.argv.slice(3)).toEqual(['soar-kill-process', 'c3pool_miner.service', params.signal, params.mask ? 'mask' : 'disable']);
      expect(planned.command.argv.join(' ')).not.toContain('4421');
    }
    expect(() => killProcess.params.parse({ signal: 'HUP' })).toThrow();
    expect(() => killProcess.params.parse({ pid: 4421 })).toThrow();
  });
});
