import { describe, expect, it } from 'vitest';
import { connectionsFrom, filesFrom, isPackaged, processesFrom } from '../../../src/actions/host-facts.js';
import { recordsOf } from './runs.js';

// Records as the prelude printed them on lab hosts (Debian 12, procps 4, iproute2 6.1, e2fsprogs 1.47).

describe('processesFrom', () => {
  it('reads pid, ppid, user, CPU, age, name, exe, cwd, command line and hash', () => {
    const records = recordsOf(
      'proc=87',
      'proc.87.exe=/root/c3pool/xmrig',
      'proc.87.cwd=/',
      'proc.87.cmdline=/root/c3pool/xmrig --config=/root/c3pool/config.json ',
      'proc.87.stat=      1 root                              0.0     397 xmrig',
      'proc.87.sha256=9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93',
    );
    expect(processesFrom(records)).toEqual([
      {
        pid: 87, ppid: 1, user: 'root', cpuPercent: 0, elapsedSeconds: 397, comm: 'xmrig',
        exe: '/root/c3pool/xmrig', cwd: '/', cmdline: '/root/c3pool/xmrig --config=/root/c3pool/config.json',
        sha256: '9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93',
      },
    ]);
  });

  it('keeps a process name with spaces, and a process that exited before ps saw it', () => {
    const records = recordsOf('proc=901', 'proc.901.stat=    1 www-data   12.5   3 php fpm worker', 'proc=902', 'proc.902.exe=', 'proc.902.stat=', 'proc.902.sha256=');
    const [named, gone] = processesFrom(records);
    expect(named).toMatchObject({ pid: 901, user: 'www-data', cpuPercent: 12.5, comm: 'php fpm worker' });
    expect(gone).toMatchObject({ pid: 902, ppid: undefined, user: undefined, comm: undefined, exe: '', sha256: undefined });
  });
});

describe('connectionsFrom', () => {
  it('reads ss -Htnp lines: endpoints, peer address and port, owning processes', () => {
    const records = recordsOf(
      'conn=0      0      198.18.2.2:59982 198.19.2.2:3333 users:(("xmrig",pid=87,fd=3))',
      'conn=0      0      [::ffff:198.18.2.2]:22 [::ffff:198.18.2.1]:37818 users:(("sshd",pid=1623,fd=4),("sshd",pid=1620,fd=4))',
      'conn=0      0      198.18.2.2:22 198.18.2.1:37820',
    );
    expect(connectionsFrom(records)).toEqual([
      expect.objectContaining({ local: '198.18.2.2:59982', peer: '198.19.2.2:3333', peerAddress: '198.19.2.2', peerPort: 3333, processes: [{ name: 'xmrig', pid: 87 }] }),
      expect.objectContaining({ peerAddress: '::ffff:198.18.2.1', peerPort: 37818, processes: [{ name: 'sshd', pid: 1623 }, { name: 'sshd', pid: 1620 }] }),
      expect.objectContaining({ peerPort: 37820, processes: [] }),
    ]);
  });

  it('ignores a line without two endpoints', () => {
    expect(connectionsFrom(recordsOf('conn=garbage'))).toEqual([]);
  });
});

describe('filesFrom', () => {
  it('reads each file under a label: hash, attributes, package, link, missing', () => {
    const records = recordsOf(
      'fragment.path=/etc/systemd/system/c3pool_miner.service',
      'fragment.sha256=b790c14eb0ecbfa8af843ca1a593505c997bc386ff918096dc074f9b8733751d',
      'fragment.mtime=1795444373',
      'fragment.attrs=----i---------e-------',
      'wants.path=/etc/systemd/system/multi-user.target.wants/c3pool_miner.service',
      'wants.link=/etc/systemd/system/c3pool_miner.service',
      'wants.attrs=',
      'wants.path=/etc/systemd/system/default.target.wants/c3pool_miner.service',
      'wants.missing=1',
      'binary.path=/bin/sleep',
      'binary.link=dash',
      'binary.attrs=--------------e-------',
      'binary.package=coreutils',
      'binary.package_modified=1',
      'binary.miner_strings=stratum+tcp:// randomx ',
    );
    expect(filesFrom(records, 'fragment')).toEqual([
      {
        path: '/etc/systemd/system/c3pool_miner.service', exists: true, linkTarget: undefined,
        sha256: 'b790c14eb0ecbfa8af843ca1a593505c997bc386ff918096dc074f9b8733751d', mtime: 1795444373,
        attrs: '----i---------e-------', immutable: true, package: undefined, packageModified: false, minerStrings: [],
      },
    ]);
    const [link, gone] = filesFrom(records, 'wants');
    expect(link).toMatchObject({ exists: true, linkTarget: '/etc/systemd/system/c3pool_miner.service', immutable: false, attrs: undefined });
    expect(gone).toMatchObject({ path: '/etc/systemd/system/default.target.wants/c3pool_miner.service', exists: false });
    expect(filesFrom(records, 'binary')).toEqual([
      expect.objectContaining({ immutable: false, package: 'coreutils', packageModified: true, minerStrings: ['stratum+tcp://', 'randomx'] }),
    ]);
    expect(filesFrom(records, 'hint')).toEqual([]);
  });

  it('reads append-only as locked too, and extents (e) or indexed directories (I) as not', () => {
    const attrs = (flags: string) => filesFrom(recordsOf('f.path=/x', `f.attrs=${flags}`), 'f')[0]!.immutable;
    expect(attrs('-----a--------e-------')).toBe(true);
    expect(attrs('----i---------e-------')).toBe(true);
    expect(attrs('--------------e-------')).toBe(false);
    expect(attrs('------------I--e------')).toBe(false);
  });
});

describe('isPackaged', () => {
  const file = (lines: string[]) => filesFrom(recordsOf('f.path=/lib/systemd/system/c3pool_miner.service', ...lines), 'f')[0];
  it('needs the file to exist, belong to a package and match its checksum', () => {
    expect(isPackaged(file(['f.package=soar-test-agent']))).toBe(true);
    expect(isPackaged(file(['f.package=soar-test-agent', 'f.package_modified=1']))).toBe(false);
    expect(isPackaged(file([]))).toBe(false);
    expect(isPackaged(file(['f.missing=1']))).toBe(false);
    expect(isPackaged(undefined)).toBe(false);
  });
});
