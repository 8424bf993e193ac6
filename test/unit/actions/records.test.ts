import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Records } from '../../../src/actions/records.js';
import { recordsOf, stdoutOf } from './runs.js';

describe('Records', () => {
  it('reads NUL-terminated key=value records, keeping "=" and newlines in values', () => {
    const records = recordsOf('config.pool="url": "stratum+tcp://198.19.2.2:3333"', 'moved.from=/root/evil/new\nline', 'done=1');
    expect(records.get('config.pool')).toBe('"url": "stratum+tcp://198.19.2.2:3333"');
    expect(records.get('moved.from')).toBe('/root/evil/new\nline');
    expect(records.complete).toBe(true);
  });

  it('keeps repeated keys in order; get returns the last one', () => {
    const records = recordsOf('left=87', 'left=91', 'active=active');
    expect(records.all('left')).toEqual(['87', '91']);
    expect(records.get('left')).toBe('91');
    expect(records.has('active')).toBe(true);
    expect(records.has('done')).toBe(false);
    expect(records.get('missing')).toBeUndefined();
  });

  it('skips pieces that are not records: no "=", an empty key, an empty record', () => {
    const records = new Records('no equals sign\0=value\0\0key=\0');
    expect(records.entries).toEqual([['key', '']]);
  });

  it('is incomplete unless the script reached its last line (output cut by a dropped link)', () => {
    expect(recordsOf('unit=c3pool_miner.service', 'systemd.LoadState=loaded').complete).toBe(false);
    expect(recordsOf('done=0').complete).toBe(false);
  });

  it('under strips a prefix', () => {
    const records = recordsOf('proc=87', 'proc.87.exe=/root/c3pool/xmrig', 'proc.87.cwd=/', 'proc.871.exe=/bin/sh');
    expect(records.under('proc.87.')).toEqual({ exe: '/root/c3pool/xmrig', cwd: '/' });
  });

  it('groups: a head record starts a group and its fields follow until the next head', () => {
    const records = recordsOf(
      'moved.from=/orphan', // before any head: belongs to nothing
      'moved=binary', 'moved.from=/root/c3pool/xmrig', 'moved.sha256=9627b0f5',
      'unlocked=/etc/systemd/system/c3pool_miner.service', // another kind of record in between
      'moved=wants', 'moved.from=/etc/systemd/system/multi-user.target.wants/c3pool_miner.service', 'moved.link=/etc/systemd/system/c3pool_miner.service',
    );
    expect(records.groups('moved')).toEqual([
      { value: 'binary', fields: { from: '/root/c3pool/xmrig', sha256: '9627b0f5' } },
      { value: 'wants', fields: { from: '/etc/systemd/system/multi-user.target.wants/c3pool_miner.service', link: '/etc/systemd/system/c3pool_miner.service' } },
    ]);
    // A head that is itself under the prefix (file facts: `binary.path` starts `binary.`).
    expect(recordsOf('binary.path=/bin/sleep', 'binary.package=coreutils', 'binary.path=/root/x', 'binary.missing=1').groups('binary.path', 'binary.')).toEqual([
      { value: '/bin/sleep', fields: { package: 'coreutils' } },
      { value: '/root/x', fields: { missing: '1' } },
    ]);
  });

  it('round-trips any keys and values a script can print (no NUL; keys without "=")', () => {
    const key = fc.string({ minLength: 1 }).filter((text) => !text.includes('\0') && !text.includes('='));
    const value = fc.string().filter((text) => !text.includes('\0'));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value)), (pairs) => {
        const records = new Records(stdoutOf(pairs.map(([name, text]) => `${name}=${text}`)));
        expect(records.entries).toEqual(pairs);
      }),
      { seed: 20261123 },
    );
  });
});
