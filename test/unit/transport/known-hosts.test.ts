import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHostsUnreadableError } from '../../../src/transport/errors.js';
import { blobKeyType, fingerprint, hostKeyAlgorithms } from '../../../src/transport/ssh/host-key.js';
import { checkHostKey, entriesFor, parseKnownHosts, readKnownHosts, type KnownHosts } from '../../../src/transport/ssh/known-hosts.js';

// Every expectation here is checked against the real OpenSSH ssh-keygen, not against our own idea of the format.

let dir: string;
const keys: Record<'ed25519' | 'ecdsa' | 'rsa' | 'other', { type: string; base64: string; blob: Buffer; pubFile: string }> = {} as never;

async function sshKeygen(args: string[]): Promise<string> {
  return (await execa('ssh-keygen', args)).stdout;
}

/** `ssh-keygen -F name -f file`: the line numbers it finds, with REVOKED/CA markers. */
async function opensshLookup(file: string, name: string): Promise<string[]> {
  const { stdout } = await execa('ssh-keygen', ['-F', name, '-f', file], { reject: false });
  return [...stdout.matchAll(/^# Host \S+ found: line (\d+) ?(\S*)/gm)].map((match) => `${match[1]}${match[2] ? ` ${match[2]}` : ''}`);
}

function ourLookup(text: string, file: string, name: string, port = 22): string[] {
  return entriesFor(parseKnownHosts(text, file), name, port).map((entry) => `${entry.line}${entry.revoked ? ' REVOKED' : ''}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'soar-known-hosts-'));
  const specs = [
    ['ed25519', ['-t', 'ed25519']],
    ['ecdsa', ['-t', 'ecdsa', '-b', '384']],
    ['rsa', ['-t', 'rsa', '-b', '2048']],
    ['other', ['-t', 'ed25519']],
  ] as const;
  for (const [name, typeArgs] of specs) {
    const file = join(dir, `key-${name}`);
    await sshKeygen(['-q', ...typeArgs, '-N', '', '-C', `test-${name}`, '-f', file]);
    const [type, base64] = (await readFile(`${file}.pub`, 'utf8')).split(' ') as [string, string];
    keys[name] = { type, base64, blob: Buffer.from(base64, 'base64'), pubFile: `${file}.pub` };
  }
});

afterAll(() => rm(dir, { recursive: true, force: true }));

const pin = (hosts: string, key: keyof typeof keys, marker = ''): string => `${marker}${marker ? ' ' : ''}${hosts} ${keys[key].type} ${keys[key].base64}`;

describe('fingerprints', () => {
  it('match ssh-keygen -lf for ed25519, ecdsa and rsa keys', async () => {
    for (const key of Object.values(keys)) {
      const expected = (await sshKeygen(['-lf', key.pubFile])).split(' ')[1];
      expect(fingerprint(key.blob)).toBe(expected);
      expect(blobKeyType(key.blob)).toBe(key.type);
    }
  });

  it('match ssh-keygen -lf for every usable line of a known_hosts file', async () => {
    const text = ['# pinned by hand', pin('web-1,198.18.0.6', 'ecdsa'), '', pin('[198.18.0.2]:2222', 'rsa'), pin('db', 'ed25519')].join('\n');
    const file = join(dir, 'fingerprints');
    await writeFile(file, text);
    const expected = (await sshKeygen(['-lf', file])).split('\n').map((line) => line.split(' ')[1]);
    expect(parseKnownHosts(text, file).entries.map((entry) => fingerprint(entry.key))).toEqual(expected);
  });

  it('rejects blobs that are not SSH keys', () => {
    expect(blobKeyType(Buffer.from([0, 0, 0]))).toBeUndefined();
    expect(blobKeyType(Buffer.from([0, 0, 0, 9, 0x73]))).toBeUndefined();
    expect(blobKeyType(Buffer.from([0, 0, 0, 1, 0x20]))).toBeUndefined();
  });
});

describe('lookup agrees with ssh-keygen -F', () => {
  const names = ['web-1', 'WEB-1', '198.18.0.6', '198.18.0.2', '[198.18.0.2]:2222', 'a.lab.test', 'bad.lab.test', 'host', 'hoost', 'db', 'nowhere'];

  it('on plain lines: comma lists, wildcards, negation, ports, @revoked', async () => {
    const text = [
      '# comment',
      pin('web-1,198.18.0.6', 'ecdsa'),
      pin('*.lab.test,!bad.lab.test', 'rsa'),
      pin('*', 'rsa', '@revoked'),
      pin('h?st', 'ed25519'),
      '   ' + pin('[198.18.0.2]:2222', 'other') + ' trailing comment',
      pin('198.18.0.2', 'ed25519'),
      pin('db', 'ed25519'),
    ].join('\n');
    const file = join(dir, 'plain');
    await writeFile(file, text);
    for (const name of names) {
      expect(ourLookup(text, file, ...splitName(name)), name).toEqual(await opensshLookup(file, name));
    }
  });

  it('on a file hashed by ssh-keygen -H', async () => {
    const file = join(dir, 'hashed');
    await writeFile(file, [pin('web-1,198.18.0.6', 'ecdsa'), pin('[198.18.0.2]:2222', 'other'), pin('198.18.0.2', 'ed25519'), pin('db', 'rsa')].join('\n') + '\n');
    await sshKeygen(['-H', '-f', file]);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    expect(text).not.toContain('web-1');
    // ssh(1) lowercases the host name before hashing it; ssh-keygen -F does not, so ask it in lowercase.
    for (const name of names) {
      expect(ourLookup(text, file, ...splitName(name)), name).toEqual(await opensshLookup(file, name.toLowerCase()));
    }
  });

  it('hashed and plain files pin the same keys for any host and port', async () => {
    const hostName = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}$/);
    const port = fc.oneof(fc.constant(22), fc.integer({ min: 1, max: 65535 }));
    const hosts = await fc.sample(fc.uniqueArray(fc.tuple(hostName, port), { minLength: 40, maxLength: 40, selector: ([h, p]) => `${h}:${p}` }), 1)[0]!;
    const keyNames = ['ed25519', 'ecdsa', 'rsa', 'other'] as const;
    const plain = hosts.map(([host, p], index) => pin(p === 22 ? host : `[${host}]:${p}`, keyNames[index % 4]!)).join('\n') + '\n';
    const file = join(dir, 'property');
    await writeFile(file, plain);
    await sshKeygen(['-H', '-f', file]);
    const hashed = await readFile(file, 'utf8');
    const keysFor = (text: string, host: string, p: number) =>
      entriesFor(parseKnownHosts(text, file), host, p).map((entry) => entry.key.toString('base64'));
    fc.assert(
      fc.property(fc.constantFrom(...hosts), ([host, p]) => {
        expect(keysFor(hashed, host, p)).toEqual(keysFor(plain, host, p));
        expect(keysFor(hashed, host, p)).toHaveLength(1);
      }),
    );
    fc.assert(
      fc.property(hostName, port, (host, p) => {
        fc.pre(!hosts.some(([h, q]) => h === host && q === p));
        expect(keysFor(hashed, host, p)).toEqual([]);
      }),
    );
  });
});

describe('verdicts', () => {
  let knownHosts: KnownHosts;
  beforeAll(() => {
    const text = [pin('web-1', 'ed25519'), pin('web-1', 'ecdsa'), pin('gone', 'rsa'), pin('gone', 'rsa', '@revoked'), pin('*', 'other', '@revoked')].join('\n');
    knownHosts = parseKnownHosts(text, '/etc/soar/known_hosts');
  });

  it('trusts a pinned key', () => {
    expect(checkHostKey(knownHosts, 'web-1', 22, keys.ecdsa.blob)).toMatchObject({ status: 'trusted', entry: { line: 2 } });
  });

  it('calls any other key of a pinned host changed, naming every pin', () => {
    const verdict = checkHostKey(knownHosts, 'web-1', 22, keys.rsa.blob);
    expect(verdict.status).toBe('changed');
    expect(verdict.status === 'changed' && verdict.pinned.map((entry) => entry.line)).toEqual([1, 2]);
  });

  it('does not carry a port-22 pin over to another port', () => {
    expect(checkHostKey(knownHosts, 'web-1', 2222, keys.ed25519.blob)).toEqual({ status: 'unknown' });
  });

  it('refuses a revoked key even where it is also pinned', () => {
    expect(checkHostKey(knownHosts, 'gone', 22, keys.rsa.blob)).toMatchObject({ status: 'revoked', entry: { line: 4 } });
    expect(checkHostKey(knownHosts, 'anything', 22, keys.other.blob)).toMatchObject({ status: 'revoked', entry: { line: 5 } });
  });

  it('knows nothing of an unpinned host', () => {
    expect(checkHostKey(knownHosts, 'stranger', 22, keys.ed25519.blob)).toEqual({ status: 'unknown' });
  });
});

describe('lines that are not used', () => {
  it('are reported with a reason, never trusted', () => {
    const ed = keys.ed25519;
    const text = [
      pin('*.example', 'ed25519', '@cert-authority'),
      pin('x', 'ed25519', '@trusted'),
      `x ${ed.type}`,
      `x ${ed.type} not*base64`,
      `x ssh-rsa ${ed.base64}`,
      `|1|abc|def ${ed.type} ${ed.base64}`,
      `,x ${ed.type} ${ed.base64}`,
      `x ${ed.type} ${Buffer.from('garbage').toString('base64')}`,
    ].join('\n');
    const knownHosts = parseKnownHosts(text, 'f');
    expect(knownHosts.entries).toEqual([]);
    expect(knownHosts.ignored.map((ignored) => ignored.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(knownHosts.ignored[0]?.reason).toMatch(/cert-authority/);
    expect(knownHosts.ignored[4]?.reason).toBe('the line says ssh-rsa but the key is ssh-ed25519');
    expect(checkHostKey(knownHosts, 'x', 22, ed.blob)).toEqual({ status: 'unknown' });
  });

  it('accepts CRLF line endings', () => {
    const knownHosts = parseKnownHosts(`${pin('x', 'ed25519')}\r\n${pin('y', 'rsa')}\r\n`, 'f');
    expect(knownHosts.entries.map((entry) => entry.line)).toEqual([1, 2]);
  });

  it('a missing file is a typed error', async () => {
    await expect(readKnownHosts(join(dir, 'missing'))).rejects.toBeInstanceOf(KnownHostsUnreadableError);
  });
});

describe('host key algorithms', () => {
  it('offers the pinned types first, every RSA signature algorithm for an RSA pin', () => {
    expect(hostKeyAlgorithms(['ssh-rsa', 'ecdsa-sha2-nistp384'])).toEqual([
      'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp384', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp521',
    ]);
  });

  it('ignores pinned types ssh2 cannot verify, and offers ssh-dss only when pinned', () => {
    expect(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com'])).toEqual(hostKeyAlgorithms([]));
    expect(hostKeyAlgorithms([])).not.toContain('ssh-dss');
    expect(hostKeyAlgorithms(['ssh-dss'])[0]).toBe('ssh-dss');
  });
});

function splitName(name: string): [string, number] {
  const match = /^\[(.+)\]:(\d+)$/.exec(name);
  return match ? [match[1] as string, Number(match[2])] : [name, 22];
}
