import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config, type HostEntry } from '../../src/config/config.js';
import { SoarError } from '../../src/errors.js';
import { HostKeyChangedError, HostKeyRevokedError, HostKeyUnknownError } from '../../src/transport/errors.js';
import { SshFleet } from '../../src/transport/ssh/fleet.js';
import { DEFAULT_OUTPUT_CAP_BYTES, TRUNCATION_MARKER, type Transport } from '../../src/transport/transport.js';
import { startLab, type Lab } from '../lab/lab.js';

// The SSH transport against real sshd on real Debian hosts: lab 1 is this file's own.
const LAB_ID = 1;

let lab: Lab;
let config: Config;
let scratch: string;
/** The host most tests run on, and the one that is stopped, frozen and re-keyed. */
let web: string;
let victim: string;
const fleets: SshFleet[] = [];
const measured: Record<string, number> = {};

beforeAll(async () => {
  lab = await startLab({ hosts: 2, lab: LAB_ID });
  [web, victim] = lab.hosts.map((host) => host.name) as [string, string];
  config = await loadConfig(lab.configPath);
  scratch = await mkdtemp(join(tmpdir(), 'soar-transport-e2e-'));
  // DEBUG1 makes sshd log every authentication request: the proof that a refused host key stopped soar before it.
  for (const host of [web, victim]) {
    await inHost(host, ['sh', '-c', 'echo "LogLevel DEBUG1" > /etc/ssh/sshd_config.d/00-soar-test.conf && systemctl restart ssh']);
  }
}, 600_000);

afterAll(async () => {
  await Promise.all(fleets.map((fleet) => fleet.close()));
  console.info('transport measurements (ms):', JSON.stringify(measured));
  await lab?.down();
  await rm(scratch, { recursive: true, force: true });
}, 120_000);

async function inHost(host: string, argv: string[]): Promise<string> {
  const result = await lab.exec(host, argv);
  expect(result, `${argv.join(' ')} in ${host}`).toMatchObject({ exitCode: 0 });
  return result.stdout;
}

/** A fleet over the lab's inventory with some fields of some hosts changed; closed after the file. */
function fleet(changes: { known_hosts?: string; hosts?: Record<string, Partial<HostEntry>> } = {}, options = {}): SshFleet {
  const hosts = Object.fromEntries(Object.entries(config.hosts).map(([name, host]) => [name, { ...host, ...changes.hosts?.[name] }]));
  const made = new SshFleet({ ...config, known_hosts: changes.known_hosts ?? config.known_hosts, hosts }, options);
  fleets.push(made);
  return made;
}

/** The host key sshd serves, as `ssh-keygen -lf` prints it on the host itself (out of band). */
async function servedFingerprint(host: string): Promise<string> {
  return (await inHost(host, ['ssh-keygen', '-lf', '/etc/ssh/ssh_host_ed25519_key.pub'])).split(' ')[1] as string;
}

/** sshd's log on the host from here on: call the returned function to read what came after. */
async function sshdLogFrom(host: string): Promise<() => Promise<string>> {
  const cursor = /^-- cursor: (.+)$/m.exec(await inHost(host, ['journalctl', '-u', 'ssh', '-n', '0', '--show-cursor', '--no-pager']))?.[1];
  expect(cursor).toBeDefined();
  return async () => inHost(host, ['journalctl', '-u', 'ssh', `--after-cursor=${cursor}`, '-o', 'cat', '--no-pager']);
}

/** What a refused connection must leave in sshd's log: it got there, and never began to authenticate. */
function expectRefusedBeforeAuth(log: string): void {
  expect(log).toMatch(/Connection from 198\.18\.\d+\.\d+ port \d+/);
  expect(log).not.toMatch(/userauth-request|Accepted|session opened|Failed publickey/);
}

describe('running programs', () => {
  let transport: Transport;
  beforeAll(() => {
    transport = fleet().transport(web);
  });

  it('reports exit status, both streams, and the exact command line sent', async () => {
    let started = Date.now();
    const result = await transport.exec({ argv: ['sh', '-c', 'echo "$SSH_CONNECTION"; echo oops >&2; exit 3'], timeoutMs: 5000 });
    measured.firstExecWithConnect = Date.now() - started;
    expect(result).toMatchObject({ exitCode: 3, signal: null, stderr: 'oops\n', timedOut: false, outcomeUnknown: false, truncated: false });
    expect(result.command).toBe(`timeout -k 5 5 sh -c 'echo "$SSH_CONNECTION"; echo oops >&2; exit 3'`);
    started = Date.now();
    const again = await transport.exec({ argv: ['printenv', 'SSH_CONNECTION'], timeoutMs: 5000 });
    measured.execOnReusedConnection = Date.now() - started;
    // The same client port: the second step reused the first step's connection.
    expect(again.stdout).toBe(result.stdout);
  });

  it('reports death by a signal with no exit status', async () => {
    const result = await transport.exec({ argv: ['sh', '-c', 'kill -USR1 $$'], timeoutMs: 5000 });
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGUSR1', timedOut: false, outcomeUnknown: false });
  });

  it('drains 10 MB of output and keeps the cap, with a marker', async () => {
    const started = Date.now();
    const result = await transport.exec({ argv: ['sh', '-c', 'head -c 10485760 /dev/zero | tr "\\0" x; echo end >&2'], timeoutMs: 30_000 });
    measured.drain10MB = Date.now() - started;
    expect(result).toMatchObject({ exitCode: 0, truncated: true, stderr: 'end\n' });
    expect(result.stdout).toBe('x'.repeat(DEFAULT_OUTPUT_CAP_BYTES) + TRUNCATION_MARKER);
  });

  it('feeds stdin byte for byte', async () => {
    const input = 'line one\n\'quoted\' $HOME `id` é€😀\n'.repeat(20_000);
    const result = await transport.exec({ argv: ['sha256sum'], stdin: input, timeoutMs: 10_000 });
    expect(result.stdout).toBe(`${createHash('sha256').update(input).digest('hex')}  -\n`);
    // Without stdin the program sees end of file at once instead of waiting for input.
    expect(await transport.exec({ argv: ['cat'], timeoutMs: 5000 })).toMatchObject({ exitCode: 0, stdout: '', timedOut: false });
  });

  it('hands hostile arguments to the program byte for byte', async () => {
    const hostile = ["'; touch /tmp/pwned #", '$(touch /tmp/pwned)', '`touch /tmp/pwned`', '"$HOME"', 'a\nb\tc', ' ', '', '-n', '--', '*', '~', '\\', '!x', 'é€😀'];
    const result = await transport.exec({ argv: ['printf', '%s\\0', ...hostile], timeoutMs: 5000 });
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(hostile);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'binary' }).filter((arg) => !arg.includes('\0')), { minLength: 1, maxLength: 4 }), async (args) => {
        const echoed = await transport.exec({ argv: ['printf', '%s\\0', ...args], timeoutMs: 5000 });
        expect(echoed.stdout.split('\0').slice(0, -1)).toEqual(args);
      }),
      { numRuns: 30 },
    );
    expect((await lab.exec(web, ['test', '-e', '/tmp/pwned'])).exitCode).toBe(1);
  });

  it('stops a program at its time limit on the host', async () => {
    const result = await transport.exec({ argv: ['sleep', '30'], timeoutMs: 1000 });
    expect(result).toMatchObject({ exitCode: 124, timedOut: true, outcomeUnknown: false });
    expect(result.durationMs).toBeLessThan(3000);
    expect(await lab.exec(web, ['pgrep', '-x', 'sleep'])).toMatchObject({ exitCode: 1 });
  });

  it('kills a program that ignores SIGTERM five seconds after its limit', async () => {
    const result = await transport.exec({ argv: ['sh', '-c', 'trap "" TERM; sleep 30'], timeoutMs: 1000 });
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true });
    expect(result.durationMs).toBeGreaterThanOrEqual(6000);
    expect(result.durationMs).toBeLessThan(8000);
  });

  it('reports an unknown outcome, not a failure, when the connection dies mid-command', async () => {
    const pending = transport.exec({ argv: ['sh', '-c', 'echo $PPID > /tmp/soar-mid.pid; exec sleep 20'], timeoutMs: 30_000 });
    // The parent of `timeout` is the sshd process serving this connection: kill it as a crash would.
    await expect.poll(async () => (await lab.exec(web, ['test', '-s', '/tmp/soar-mid.pid'])).exitCode, { timeout: 5000 }).toBe(0);
    await inHost(web, ['sh', '-c', 'kill -KILL "$(ps -o ppid= -p "$(cat /tmp/soar-mid.pid)")"']);
    const result = await pending;
    expect(result).toMatchObject({ exitCode: null, signal: null, timedOut: false, outcomeUnknown: true });
    expect(result.durationMs).toBeLessThan(10_000);
    // The next step reconnects by itself.
    expect(await transport.exec({ argv: ['true'], timeoutMs: 5000 })).toMatchObject({ exitCode: 0 });
  });
});

describe('the per-host channel cap', () => {
  beforeAll(async () => {
    await inHost(web, ['sh', '-c', 'echo "MaxSessions 3" > /etc/ssh/sshd_config.d/10-soar-test.conf && systemctl restart ssh']);
  });

  /** Twenty commands at once; each reports how many were running on the host when it started. */
  function twenty(transport: Transport, seconds: number) {
    const script = `mkdir -p /run/soar-slots && touch "/run/soar-slots/$1" && ls /run/soar-slots | wc -l && sleep ${seconds} && rm "/run/soar-slots/$1"`;
    return Promise.allSettled(Array.from({ length: 20 }, (_, index) => transport.exec({ argv: ['sh', '-c', script, 'sh', `${index}`], timeoutMs: 10_000 })));
  }

  it('runs 20 concurrent commands through MaxSessions 3 when max_sessions is 3', async () => {
    const started = Date.now();
    const results = await twenty(fleet({ hosts: { [web]: { max_sessions: 3 } } }).transport(web), 0.3);
    measured.twentyExecsThroughThreeSessions = Date.now() - started;
    const running = results.map((result) => (result.status === 'fulfilled' && result.value.exitCode === 0 ? Number(result.value.stdout) : NaN));
    expect(running.every((count) => count >= 1 && count <= 3)).toBe(true);
    expect(Math.max(...running)).toBe(3);
  });

  it('would fail without the cap: sshd refuses channels past MaxSessions', async () => {
    // Commands far longer than the open retries, so only a real slot could let the extra ones in.
    const results = await twenty(fleet({ hosts: { [web]: { max_sessions: 20 } } }).transport(web), 1);
    const refused = results.filter((result) => result.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const result of refused) expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'CHANNEL_OPEN_FAILED', retryable: true });
    for (const result of results) if (result.status === 'fulfilled') expect(result.value.exitCode).toBe(0);
  });
});

describe('reaching hosts', () => {
  it('reaches a host through a jump host', async () => {
    const jumped = fleet({ hosts: { [web]: { jump: victim } } }).transport(web);
    const result = await jumped.exec({ argv: ['printenv', 'SSH_CONNECTION'], timeoutMs: 5000 });
    // sshd on the target sees the jump host's address, not the runner's.
    expect(result.stdout.split(' ')[0]).toBe(lab.hosts[1]!.address);
  });

  it('probe opens a new connection each time', async () => {
    const probing = fleet();
    const after = await sshdLogFrom(web);
    await probing.probe(web);
    await probing.probe(web);
    expect((await after()).match(/Accepted publickey for root/g)).toHaveLength(2);
  });

  it('authenticates with the keys of a real ssh-agent when no identity file is named', async () => {
    const socket = join(scratch, 'agent.sock');
    const agent = execa('ssh-agent', ['-D', '-a', socket]);
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      await expect.poll(() => execa('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: socket }, reject: false }).then((r) => r.exitCode), { timeout: 5000 }).toBe(1);
      await execa('ssh-add', [lab.identityFile], { env: { SSH_AUTH_SOCK: socket } });
      process.env.SSH_AUTH_SOCK = socket;
      const viaAgent = fleet({ hosts: { [web]: { identity_file: undefined } } });
      expect(await viaAgent.transport(web).exec({ argv: ['id', '-un'], timeoutMs: 5000 })).toMatchObject({ exitCode: 0, stdout: 'root\n' });
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      agent.kill();
      await agent.catch(() => undefined);
    }
  });

  it('authenticates with an encrypted identity file and its passphrase from the environment', async () => {
    const key = join(scratch, 'id_encrypted');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'soar test passphrase', '-f', key]);
    const publicKey = await readFile(`${key}.pub`, 'utf8');
    await inHost(web, ['sh', '-c', 'printf %s "$1" >> /root/.ssh/authorized_keys', 'sh', publicKey]);
    process.env.SOAR_E2E_PASSPHRASE = 'soar test passphrase';
    try {
      const encrypted = fleet({ hosts: { [web]: { identity_file: key, passphrase: { env: 'SOAR_E2E_PASSPHRASE' } } } });
      await expect(encrypted.probe(web)).resolves.toBeUndefined();
    } finally {
      delete process.env.SOAR_E2E_PASSPHRASE;
    }
  });

  it('refuses a wrong user: AUTH_FAILED, nothing run', async () => {
    for (const user of ['analyst', 'nosuchuser']) {
      const error = await fleet({ hosts: { [web]: { user } } }).probe(web).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'AUTH_FAILED' });
      expect((error as Error).message).toContain(`~${user}/.ssh/authorized_keys`);
    }
  });

  it('runs a non-root user through sudo -n, which fails fast instead of prompting', async () => {
    // Give analyst the lab key, so that only sudo stands between analyst and root.
    const publicKey = await readFile(`${lab.identityFile}.pub`, 'utf8');
    await inHost(web, ['sh', '-c', 'install -d -o analyst -m 700 ~analyst/.ssh && printf %s "$1" > ~analyst/.ssh/authorized_keys && chown analyst ~analyst/.ssh/authorized_keys', 'sh', publicKey]);
    const hasSudo = (await lab.exec(web, ['sh', '-c', 'command -v sudo'])).exitCode === 0;
    const result = await fleet({ hosts: { [web]: { user: 'analyst' } } }).transport(web).exec({ argv: ['id', '-u'], timeoutMs: 5000 });
    expect(result.command).toBe('sudo -n -- timeout -k 5 5 id -u');
    expect(result.durationMs).toBeLessThan(3000);
    if (hasSudo) expect(result).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/password is required/) });
    else expect(result).toMatchObject({ exitCode: 127, stderr: expect.stringMatching(/sudo: (command )?not found/) });
  });

  it('reports sshd stopped as a refused connection', async () => {
    await inHost(victim, ['systemctl', 'stop', 'ssh']);
    try {
      const error = await fleet().probe(victim).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SoarError);
      expect(error).toMatchObject({ code: 'CONNECTION_REFUSED', retryable: true });
    } finally {
      await inHost(victim, ['systemctl', 'start', 'ssh']);
    }
  });

  it('a frozen sshd: new connections time out, a running step ends as unknown at its deadline', async () => {
    const transport = fleet().transport(victim);
    await transport.exec({ argv: ['true'], timeoutMs: 5000 });
    await inHost(victim, ['pkill', '-STOP', '-x', 'sshd']);
    try {
      const started = Date.now();
      const [running, connecting] = await Promise.all([
        transport.exec({ argv: ['true'], timeoutMs: 1000 }),
        fleet({ hosts: { [victim]: { connect_timeout: 1500 } } }).probe(victim).catch((caught: unknown) => caught),
      ]);
      measured.frozenStepGaveUpAfter = running.durationMs;
      expect(connecting).toMatchObject({ code: 'CONNECT_TIMEOUT' });
      // Remote limit 1 s + kill grace 5 s + client margin 3 s.
      expect(running).toMatchObject({ exitCode: null, timedOut: true, outcomeUnknown: true });
      expect(running.durationMs).toBeGreaterThanOrEqual(9000);
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      await inHost(victim, ['pkill', '-CONT', '-x', 'sshd']);
    }
  });
});

// Last: it re-keys the victim host.
describe('host keys', () => {
  it('refuses an unknown key before authenticating, showing the ssh-keygen fingerprint', async () => {
    const knownHosts = join(scratch, 'known_hosts.other');
    // Only the other host is pinned.
    await writeFile(knownHosts, (await readFile(lab.knownHostsPath, 'utf8')).split('\n').filter((line) => !line.startsWith(`${web},`)).join('\n'));
    const after = await sshdLogFrom(web);
    const error = await fleet({ known_hosts: knownHosts }).transport(web).exec({ argv: ['touch', '/tmp/soar-ran'], timeoutMs: 5000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyUnknownError);
    const fingerprint = await servedFingerprint(web);
    expect(error).toMatchObject({ code: 'HOST_KEY_UNKNOWN', offered: { type: 'ssh-ed25519', fingerprint } });
    expect((error as Error).message).toContain(fingerprint);
    expectRefusedBeforeAuth(await after());
    expect((await lab.exec(web, ['test', '-e', '/tmp/soar-ran'])).exitCode).toBe(1);
  });

  it('the same sshd log shows authentication when the key is trusted (the check above can fail)', async () => {
    const after = await sshdLogFrom(web);
    await fleet().probe(web);
    expect(await after()).toMatch(/userauth-request[\s\S]*Accepted publickey for root/);
  });

  it('refuses a key marked @revoked even though it is also pinned', async () => {
    const knownHosts = join(scratch, 'known_hosts.revoked');
    const hostKey = (await inHost(web, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])).split(' ').slice(0, 2).join(' ');
    const pinned = await readFile(lab.knownHostsPath, 'utf8');
    await writeFile(knownHosts, `${pinned.trimEnd()}\n@revoked * ${hostKey}\n`);
    const after = await sshdLogFrom(web);
    const error = await fleet({ known_hosts: knownHosts }).probe(web).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyRevokedError);
    expect(error).toMatchObject({ code: 'HOST_KEY_REVOKED', revokedAt: { file: knownHosts, line: pinned.trimEnd().split('\n').length + 1 } });
    expectRefusedBeforeAuth(await after());
  });

  it('refuses a changed key (host re-keyed), naming the pin, and accepts it once re-pinned', async () => {
    const oldFingerprint = await servedFingerprint(victim);
    await inHost(victim, ['sh', '-c', 'rm -f /etc/ssh/ssh_host_* && ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key && systemctl restart ssh']);
    const newFingerprint = await servedFingerprint(victim);
    expect(newFingerprint).not.toBe(oldFingerprint);
    const pinLine = (await readFile(lab.knownHostsPath, 'utf8')).split('\n').findIndex((line) => line.startsWith(`${victim},`)) + 1;

    const after = await sshdLogFrom(victim);
    const error = await fleet().probe(victim).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostKeyChangedError);
    expect(error).toMatchObject({
      code: 'HOST_KEY_CHANGED',
      offered: { fingerprint: newFingerprint },
      pinned: [{ file: lab.knownHostsPath, line: pinLine, fingerprint: oldFingerprint }],
    });
    expect((error as Error).message).toContain(`${lab.knownHostsPath}:${pinLine}`);
    expectRefusedBeforeAuth(await after());

    // Re-pin as the message says: drop the old pin with ssh-keygen -R, add the key read out of band.
    const repinned = join(scratch, 'known_hosts.repinned');
    await copyFile(lab.knownHostsPath, repinned);
    const address = config.hosts[victim]!.address;
    await execa('ssh-keygen', ['-R', address, '-f', repinned]);
    const hostKey = (await inHost(victim, ['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])).split(' ').slice(0, 2).join(' ');
    await writeFile(repinned, `${(await readFile(repinned, 'utf8')).trimEnd()}\n${address} ${hostKey}\n`);
    await expect(fleet({ known_hosts: repinned }).probe(victim)).resolves.toBeUndefined();
  });
});
