import { describe, expect, it } from 'vitest';
import { StepFailedError } from '../../../src/actions/failure.js';
import { removeUnit } from '../../../src/actions/remove-unit.js';
import { defaultConfig } from '../../../src/config/config.js';
import { contextFor, recordsOf, runOf, thrownBy } from './runs.js';

// Records from remove-unit.sh on a lab host: moneroocean_miner.service with chattr +i, after kill-process.

const Q = '/var/lib/soar/quarantine/run-5d1c3b0e0a1b11ef';
const FIRST_RUN = [
  `quarantine=${Q}`,
  'unlocked=/root/moneroocean/xmrig', 'unlocked.attrs=----i---------e-------',
  'moved=binary', 'moved.from=/root/moneroocean/xmrig', `moved.to=${Q}/files/root/moneroocean/xmrig`, 'moved.sha256=9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93',
  'moved=installer', 'moved.from=/root/moneroocean/config.json', `moved.to=${Q}/files/root/moneroocean/config.json`, 'moved.sha256=c65ca39239dc169e37b964eab48de1372cf010962ca1f6d1b84c1b60ad718762',
  'moved=installer', 'moved.from=/root/moneroocean/miner.sh', `moved.to=${Q}/files/root/moneroocean/miner.sh`, 'moved.sha256=f477077f3073a01eab5f85d06188e58096f57296a3fbc3182f06aac1a1865afc',
  'removed_dir=/root/moneroocean',
  'unlocked=/etc/systemd/system/moneroocean_miner.service', 'unlocked.attrs=----i---------e-------',
  'moved=unit', 'moved.from=/etc/systemd/system/moneroocean_miner.service', `moved.to=${Q}/files/etc/systemd/system/moneroocean_miner.service`, 'moved.sha256=25a08e28ef3b6c16dd9b1f72916cc115f75e657349dc2366c00c548154141d87',
  'load_state=not-found',
  'done=1',
];
const SECOND_RUN = [`quarantine=${Q}`, 'load_state=not-found', 'done=1'];

const context = contextFor({ 'file.name': 'moneroocean_miner.service', 'file.path': '/etc/systemd/system/moneroocean_miner.service' });
const interpret = (lines: string[]) => removeUnit.interpret({}, [runOf(...lines)], context);

describe('remove-unit results', () => {
  it('the first run lists every file moved, with its kind, place in quarantine and hash, and every flag cleared', () => {
    const result = interpret(FIRST_RUN);
    expect(result).toMatchObject({ outcome: 'quarantined', changed: true });
    expect(result.summary).toBe(
      `quarantined 4 file(s) in ${Q}: binary /root/moneroocean/xmrig, installer /root/moneroocean/config.json, installer /root/moneroocean/miner.sh, ` +
        'unit /etc/systemd/system/moneroocean_miner.service; cleared immutable/append-only flags on /root/moneroocean/xmrig, ' +
        '/etc/systemd/system/moneroocean_miner.service; moneroocean_miner.service no longer loads',
    );
    const evidence = result.evidence as Record<string, any>;
    expect(evidence.manifest).toBe(`${Q}/MANIFEST.sha256`);
    expect(evidence.moved[0]).toEqual({
      kind: 'binary', from: '/root/moneroocean/xmrig', to: `${Q}/files/root/moneroocean/xmrig`,
      sha256: '9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93', linkTarget: undefined,
    });
    expect(evidence.unlocked).toEqual([
      { path: '/root/moneroocean/xmrig', attrs: '----i---------e-------' },
      { path: '/etc/systemd/system/moneroocean_miner.service', attrs: '----i---------e-------' },
    ]);
    expect(evidence.removedDirectories).toEqual(['/root/moneroocean']);
  });

  it('a second run changes nothing and says nothing was left', () => {
    const result = interpret(SECOND_RUN);
    expect(result).toMatchObject({ outcome: 'quarantined', changed: false });
    expect(result.summary).toBe('nothing of moneroocean_miner.service was left to quarantine; systemd does not load it');
  });

  it('a mask it lifted to find the unit\'s programs is evidence', () => {
    const evidence = interpret([`quarantine=${Q}`, 'unmasked=Removed "/etc/systemd/system/xvf.service".', 'load_state=not-found', 'done=1']).evidence;
    expect(evidence).toMatchObject({ unmasked: 'Removed "/etc/systemd/system/xvf.service".' });
    expect(interpret(SECOND_RUN).evidence).not.toHaveProperty('unmasked');
  });

  it('a link is recorded with its target and no hash', () => {
    const link = ['moved=wants', 'moved.from=/etc/systemd/system/multi-user.target.wants/x.service', `moved.to=${Q}/files/etc/systemd/system/multi-user.target.wants/x.service`, 'moved.link=/etc/systemd/system/x.service'];
    const evidence = interpret([...link, ...SECOND_RUN]).evidence as Record<string, any>;
    expect(evidence.moved).toEqual([expect.objectContaining({ kind: 'wants', sha256: undefined, linkTarget: '/etc/systemd/system/x.service' })]);
  });

  it('a unit still loaded because a package owns its file fails for good, naming the package and the fix', () => {
    const kept = [
      `quarantine=${Q}`,
      'kept=/bin/sleep', 'kept.kind=binary', 'kept.package=coreutils',
      'kept=/lib/systemd/system/moneroocean_miner.service', 'kept.kind=unit', 'kept.package=soar-test-agent',
      'load_state=loaded', 'done=1',
    ];
    const failure = thrownBy(() => interpret(kept));
    expect(failure).toBeInstanceOf(StepFailedError);
    expect((failure as StepFailedError).retryable).toBe(false);
    expect((failure as StepFailedError).message).toBe(
      'systemd still loads moneroocean_miner.service: /lib/systemd/system/moneroocean_miner.service belong to package soar-test-agent; ' +
        'soar never moves packaged files, remove the package with its package manager (e.g. apt purge soar-test-agent)',
    );
  });

  it('a unit still loaded for another reason, or output cut short, may succeed on a retry', () => {
    for (const lines of [[`quarantine=${Q}`, 'load_state=loaded', 'done=1'], FIRST_RUN.slice(0, -1)]) {
      const failure = thrownBy(() => interpret(lines));
      expect(failure).toBeInstanceOf(StepFailedError);
      expect((failure as StepFailedError).retryable).toBe(true);
    }
  });
});

describe('remove-unit verify', () => {
  const { command, holds } = removeUnit.verify!({}, context);

  it('holds only when systemd does not load the unit and none of its files is left, on a complete answer', () => {
    expect(holds(recordsOf('load_state=not-found', 'done=1'))).toBe(true);
    expect(holds(recordsOf('load_state=loaded', 'left=/etc/systemd/system/moneroocean_miner.service', 'done=1'))).toBe(false);
    expect(holds(recordsOf('load_state=not-found', 'left=/tmp/moneroocean_miner.service', 'done=1'))).toBe(false);
    expect(holds(recordsOf('load_state=', 'done=1'))).toBe(false);
    expect(holds(recordsOf('load_state=not-found'))).toBe(false);
  });

  it('checks the alert\'s path too', () => {
    expect(command.argv.slice(3)).toEqual(['soar-remove-unit-verify', 'moneroocean_miner.service', '/etc/systemd/system/moneroocean_miner.service']);
  });
});

describe('remove-unit plan', () => {
  it('quarantines into one directory per run below the configured root', () => {
    const config = { ...defaultConfig(), quarantine_dir: '/srv/evidence' };
    const [planned] = removeUnit.plan({}, contextFor({ 'file.path': '/tmp/c3pool_miner.service' }, config));
    if (planned?.where !== 'host') throw new Error('remove-unit plans a host command');
    expect(planned.command.argv.slice(3)).toEqual(['soar-remove-unit', 'c3pool_miner.service', '/srv/evidence/run-5d1c3b0e0a1b11ef', '/tmp/c3pool_miner.service']);
  });
});
