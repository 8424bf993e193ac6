import { describe, expect, it } from 'vitest';
import type { CommandRun, PlanContext } from '../../../src/actions/action.js';
import { StepFailedError } from '../../../src/actions/failure.js';
import { isolate } from '../../../src/actions/isolate.js';
import { Records } from '../../../src/actions/records.js';
import { release } from '../../../src/actions/release.js';
import { remoteScript } from '../../../src/actions/script.js';
import type { Target } from '../../../src/alert/target.js';
import { defaultConfig } from '../../../src/config/config.js';

const RUN_ID = 'run-b9553159c9182bb3';

function context(isolation: Partial<PlanContext['config']['isolation']> = {}): PlanContext {
  const config = defaultConfig();
  return {
    target: { host: { name: 'lab3-h1' } } as Target,
    config: { ...config, isolation: { ...config.isolation, management: ['198.18.3.1'], ...isolation } },
    runId: RUN_ID,
    timeoutMs: 120_000,
    alertTime: '2024-05-02T10:15:42.118Z',
  };
}

/** A host command's run, with what the script printed (records as captured from lab runs). */
function ran(purpose: string, stdout: string): CommandRun {
  const result = { command: purpose, exitCode: 0, signal: null, stdout, stderr: '', truncated: false, startedAt: '2026-11-23T14:36:00.000Z', durationMs: 120, timedOut: false, outcomeUnknown: false };
  return { purpose, result, records: new Records(stdout) };
}

const records = (...pairs: string[]): string => pairs.map((pair) => `${pair}\0`).join('');

// As isolate.sh printed them on lab3-h1 (ruleset shortened).
const APPLIED = records(
  'management=198.18.3.1 41284 198.18.3.2 22',
  'management_source=ssh_connection',
  'ssh_port=22',
  'ruleset=table inet soar_isolation\ndelete table inet soar_isolation\ntable inet soar_isolation { … }',
  'revert_timer=soar-revert-run-b9553159c9182bb3_162.timer',
  'revert_after=60',
  'applied=1',
  'cut=0      0      198.18.3.2:45674 198.19.3.2:3333 users:(("xmrig",pid=87,fd=3))',
  'done=1',
);
const CONFIRMED = records('disarmed=soar-revert-run-b9553159c9182bb3_162.timer', 'confirmed=1', 'done=1');
const PROBED = ran('prove management access over a new SSH connection', '');

describe('isolate plan', () => {
  it('runs the constant isolate script with the run id, the revert delay and the inventory as separate arguments', () => {
    const commands = isolate.plan({}, context({ allow_out: [{ address: '198.18.200.10', port: 9200, protocol: 'tcp' }, { address: '2001:db8::/64', protocol: 'udp' }] }));
    expect(commands.map((planned) => planned.where === 'host' && [planned.purpose.split(' ')[0], planned.fresh ?? false])).toEqual([
      ['check', false],
      ['prove', true],
      ['disarm', false],
    ]);
    const [apply, probe, confirm] = commands as Array<Extract<(typeof commands)[number], { where: 'host' }>>;
    expect(apply!.command.argv).toEqual(['sh', '-c', remoteScript('isolate'), 'soar-isolate', RUN_ID, '60', 'mgmt=198.18.3.1', 'allow=tcp,198.18.200.10,9200', 'allow=udp,2001:db8::/64,']);
    expect(probe!.command.argv).toEqual(['true']);
    expect(confirm!.command.argv).toEqual(['sh', '-c', remoteScript('isolate-confirm'), 'soar-isolate-confirm', RUN_ID]);
    expect(apply!.command.timeoutMs).toBe(120_000);
  });

  it('takes the revert delay from the step when it sets one, rounded up to whole seconds', () => {
    const delay = (stepParams: { revert_after?: string }, revertAfterMs = 60_000) => {
      const [apply] = isolate.plan(stepParams, context({ revert_after: revertAfterMs }));
      return apply!.where === 'host' ? apply!.command.argv[5] : undefined;
    };
    expect(delay({})).toBe('60');
    expect(delay({}, 1_500)).toBe('2');
    expect(delay({ revert_after: '2m' })).toBe('120');
    expect(delay({ revert_after: '250ms' })).toBe('1');
    expect(isolate.params.safeParse({ revert_after: '1d' }).success).toBe(false);
    expect(isolate.params.safeParse({ revert_after: '10s; reboot' }).success).toBe(false);
  });

  it('keeps the script text free of anything from the inventory', () => {
    const [apply] = isolate.plan({}, context({ management: ['198.18.3.77'] }));
    expect(apply!.where === 'host' && apply!.command.argv[2]).not.toContain('198.18.3.77');
  });
});

describe('isolate result', () => {
  it('reports the management address it kept, the connections it cut and the timer it disarmed', () => {
    const result = isolate.interpret({}, [ran('apply', APPLIED), PROBED, ran('confirm', CONFIRMED)], context());
    expect(result).toEqual({
      outcome: 'isolated',
      summary: 'isolated; 1 connection(s) cut; management SSH from 198.18.3.1 proven over a new connection',
      changed: true,
      evidence: {
        management: '198.18.3.1 41284 198.18.3.2 22',
        managementSource: 'ssh_connection',
        sshPort: 22,
        ruleset: expect.stringContaining('table inet soar_isolation'),
        revertTimer: 'soar-revert-run-b9553159c9182bb3_162.timer',
        revertAfterSeconds: 60,
        superseded: [],
        cut: ['0 0 198.18.3.2:45674 198.19.3.2:3333 users:(("xmrig",pid=87,fd=3))'],
        uncut: [],
        disarmed: ['soar-revert-run-b9553159c9182bb3_162.timer'],
      },
    });
  });

  it('says a rerun changed nothing when the same table was already in place and nothing was left to cut', () => {
    const again = APPLIED.replace(/cut=[^\0]*\0/, 'unchanged=1\0').replace('done=1', 'superseded=soar-revert-run-b9553159c9182bb3_162.timer\0done=1');
    const result = isolate.interpret({}, [ran('apply', again), PROBED, ran('confirm', CONFIRMED)], context());
    expect(result).toMatchObject({ changed: false, evidence: { cut: [], superseded: ['soar-revert-run-b9553159c9182bb3_162.timer'] } });
    expect(result.summary).toBe('already isolated; 0 connection(s) cut; management SSH from 198.18.3.1 proven over a new connection');
  });

  it('says which connections the kernel could not cut (no SOCK_DESTROY): the table only freezes them', () => {
    const frozen = APPLIED.replace('done=1', 'uncut=0      0      198.18.3.2:45674 198.19.3.2:3333 users:(("xmrig",pid=87,fd=3))\0done=1').replace(/cut=[^\0]*\0/, '');
    const result = isolate.interpret({}, [ran('apply', frozen), PROBED, ran('confirm', CONFIRMED)], context());
    expect(result.summary).toBe('isolated; 0 connection(s) cut, 1 frozen (the kernel cannot cut them); management SSH from 198.18.3.1 proven over a new connection');
    expect(result.evidence).toMatchObject({ cut: [], uncut: ['0 0 198.18.3.2:45674 198.19.3.2:3333 users:(("xmrig",pid=87,fd=3))'] });
  });

  it('names the configured addresses when the script saw no session of its own', () => {
    const unseen = APPLIED.replace('management=198.18.3.1 41284 198.18.3.2 22', 'management=').replace('management_source=ssh_connection', 'management_source=none');
    const result = isolate.interpret({}, [ran('apply', unseen), PROBED, ran('confirm', CONFIRMED)], context());
    expect(result.summary).toContain('management SSH from the configured management addresses');
    expect(result.evidence).toMatchObject({ management: undefined, managementSource: 'none' });
  });

  it('fails, retryably, when the table was not applied or the output ended early', () => {
    for (const stdout of [records('management=', 'error=nft refused the ruleset: …'), APPLIED.replace('done=1\0', '')]) {
      const attempt = () => isolate.interpret({}, [ran('apply', stdout), PROBED, ran('confirm', CONFIRMED)], context());
      expect(attempt).toThrow(StepFailedError);
      expect(attempt).toThrow(/^the isolation table was not applied/);
    }
  });

  it('fails, retryably and with what was applied, when the confirmation is missing', () => {
    let failure: unknown;
    try {
      isolate.interpret({}, [ran('apply', APPLIED), PROBED, ran('confirm', records('done=1'))], context());
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(StepFailedError);
    expect(failure).toMatchObject({ retryable: true, message: 'isolation was not confirmed; the revert timer restores access', evidence: { revertTimer: 'soar-revert-run-b9553159c9182bb3_162.timer' } });
  });
});

describe('verify of isolate and release', () => {
  const verdict = (action: typeof isolate | typeof release, stdout: string) => action.verify!({} as never, context()).holds(new Records(stdout));

  it('runs the read-only isolate-verify script', () => {
    expect(isolate.verify!({}, context()).command.argv.slice(0, 4)).toEqual(['sh', '-c', remoteScript('isolate-verify'), 'soar-isolate-verify']);
    expect(release.verify!({}, context()).command.argv.slice(3)).toEqual(['soar-isolate-verify']);
  });

  it('holds for isolate only when the table soar applied is present and no revert timer is armed', () => {
    expect(verdict(isolate, records('table=present', 'revert_timer=disarmed', 'done=1'))).toBe(true);
    expect(verdict(isolate, records('table=present', 'armed=soar-revert-run-x_9.timer', 'revert_timer=armed', 'done=1'))).toBe(false);
    expect(verdict(isolate, records('table=altered', 'revert_timer=disarmed', 'done=1'))).toBe(false);
    expect(verdict(isolate, records('table=absent', 'revert_timer=disarmed', 'done=1'))).toBe(false);
    expect(verdict(isolate, records('table=present', 'revert_timer=disarmed'))).toBe(false);
  });

  it('holds for release only when the table is gone and no timer is armed', () => {
    expect(verdict(release, records('table=absent', 'revert_timer=disarmed', 'done=1'))).toBe(true);
    expect(verdict(release, records('table=present', 'revert_timer=disarmed', 'done=1'))).toBe(false);
    expect(verdict(release, records('table=altered', 'revert_timer=disarmed', 'done=1'))).toBe(false);
    expect(verdict(release, records('table=absent', 'revert_timer=armed', 'done=1'))).toBe(false);
  });
});

describe('release result', () => {
  it('says whether it removed an isolation, and which timers it disarmed', () => {
    expect(release.interpret({}, [ran('release', records('disarmed=soar-revert-run-x_12.timer', 'released=1', 'done=1'))], context())).toEqual({
      outcome: 'released',
      summary: 'isolation removed',
      changed: true,
      evidence: { released: true, disarmed: ['soar-revert-run-x_12.timer'] },
    });
    expect(release.interpret({}, [ran('release', records('released=0', 'done=1'))], context())).toMatchObject({
      summary: 'the host was not isolated',
      changed: false,
    });
  });

  it('fails, retryably, when its output ended early', () => {
    expect(() => release.interpret({}, [ran('release', records('disarmed=soar-revert-run-x_12.timer'))], context())).toThrow(/^release output ended early/);
  });
});
