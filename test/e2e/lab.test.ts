import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveConfigPath } from '../../src/config/config.js';
import { eventually } from './support.js';
import { LAB_SCRIPT, LabError, startLab, type Lab, type LabHost, type MinerUnit } from '../lab/lab.js';

// Lab ids of their own, so that this file never tears down a lab another test or engineer is using.
const LAB_ID = 61;
const HALF_BOOTED_LAB_ID = 62;
const SHARED_DIR = process.env.SOAR_SHARED_DIR ?? join(import.meta.dirname, '../../../shared');

let lab: Lab;

beforeAll(async () => {
  lab = await startLab({ hosts: 2, lab: LAB_ID });
}, 600_000);

afterAll(async () => {
  await lab?.down();
}, 120_000);

function host(index: number): LabHost {
  const found = lab.hosts[index];
  if (found === undefined) throw new Error(`the lab has no host #${index}`);
  return found;
}

/** OpenSSH itself, pinned to a known_hosts file, with the lab's client key and nothing else. */
function ssh(address: string, knownHosts: string, command: string) {
  return execa(
    'ssh',
    [
      '-F', '/dev/null',
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'IdentitiesOnly=yes',
      '-o', 'ConnectTimeout=5',
      '-i', lab.identityFile,
      `root@${address}`,
      command,
    ],
    { reject: false, stdin: 'ignore' },
  );
}

async function inHost(name: string, argv: string[]): Promise<string> {
  const result = await lab.exec(name, argv);
  expect(result, `${argv.join(' ')} in ${name}`).toMatchObject({ exitCode: 0 });
  return result.stdout.trim();
}


async function mainPid(name: string, unit: string): Promise<number> {
  return Number(await inHost(name, ['systemctl', 'show', '--property=MainPID', '--value', unit]));
}

async function labResidue(labId: number) {
  const [netns, mounts, processes, links, tables] = await Promise.all([
    execa('ip', ['netns', 'list']),
    execa('findmnt', ['-rn', '-o', 'SOURCE,TARGET']),
    execa('pgrep', ['-af', `systemd-nspawn .*-M lab${labId}-h`], { reject: false }),
    execa('ip', ['-o', 'link', 'show']),
    execa('nft', ['list', 'tables']),
  ]);
  const ours = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line));
  return {
    netns: ours(netns.stdout, new RegExp(`^soar${labId}-`)),
    mounts: ours(mounts.stdout, new RegExp(`^soar${labId}-h\\d+ `)),
    nspawn: ours(processes.stdout, /\S/),
    veths: ours(links.stdout, new RegExp(`^\\d+: soar${labId}(h\\d+|pool|out)[@:]`)),
    guard: ours(tables.stdout, new RegExp(`soar_lab${labId}_guard`)),
  };
}

const NO_RESIDUE = { netns: [], mounts: [], nspawn: [], veths: [], guard: [] };

describe('lab hosts', () => {
  it('boots two hosts with their own pinned host keys, reached by OpenSSH with StrictHostKeyChecking=yes', async () => {
    expect(lab.hosts.map((h) => h.name)).toEqual([`lab${LAB_ID}-h1`, `lab${LAB_ID}-h2`]);
    expect(lab.hosts.map((h) => h.address)).toEqual([`198.18.${LAB_ID}.2`, `198.18.${LAB_ID}.6`]);

    const pins = (await readFile(lab.knownHostsPath, 'utf8')).trim().split('\n');
    expect(pins).toHaveLength(2);
    const keys = pins.map((line) => line.split(' ').slice(1).join(' '));
    expect(keys[0]).toMatch(/^ssh-ed25519 AAAA/);
    expect(keys[0]).not.toEqual(keys[1]);

    for (const h of lab.hosts) {
      const reached = await ssh(h.address, lab.knownHostsPath, 'hostname; cat /etc/machine-id');
      expect(reached.stderr).toBe('');
      expect(reached.exitCode).toBe(0);
      expect(reached.stdout.split('\n')[0]).toBe(h.name);
    }
    const machineIds = await Promise.all(lab.hosts.map((h) => inHost(h.name, ['cat', '/etc/machine-id'])));
    expect(new Set(machineIds).size).toBe(2);
  });

  it('is refused by OpenSSH when a host answers with another host\'s key', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'soar-lab-test-'));
    try {
      const swapped = join(scratch, 'known_hosts');
      const otherKey = (await readFile(lab.knownHostsPath, 'utf8')).split('\n')[1]!.split(' ').slice(1).join(' ');
      await writeFile(swapped, `${host(0).address} ${otherKey}\n`);
      const refused = await ssh(host(0).address, swapped, 'true');
      expect(refused.exitCode).toBe(255);
      expect(refused.stderr).toContain('Host key verification failed');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('refuses the analyst user, who has no authorized key', async () => {
    const refused = await execa(
      'ssh',
      ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`,
        '-o', 'IdentitiesOnly=yes', '-i', lab.identityFile, `analyst@${host(0).address}`, 'true'],
      { reject: false, stdin: 'ignore' },
    );
    expect(refused.exitCode).toBe(255);
    expect(refused.stderr).toContain('Permission denied (publickey)');
    expect(await inHost(host(0).name, ['id', '-un', 'analyst'])).toBe('analyst');
  });

  it('writes an inventory that loadConfig accepts, naming every host, its key file and its management address', async () => {
    const config = await loadConfig(lab.configPath);
    expect(Object.keys(config.hosts)).toEqual(lab.hosts.map((h) => h.name));
    for (const h of lab.hosts) {
      expect(config.hosts[h.name]).toMatchObject({ address: h.address, port: 22, user: 'root', identity_file: 'id_ed25519' });
    }
    expect(resolveConfigPath(config, config.known_hosts)).toBe(lab.knownHostsPath);
    expect(resolveConfigPath(config, config.hosts[host(0).name]!.identity_file!)).toBe(lab.identityFile);
    expect(config.isolation.management).toEqual(lab.hosts.map((h) => h.managementAddress));
    expect(config.isolation.allow_out).toEqual([]);
  });

  it('runs programs inside a host without SSH, passing exit statuses through and refusing unknown hosts', async () => {
    expect(await lab.exec(host(1).name, ['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(await inHost(host(1).name, ['cat', '/proc/1/comm'])).toBe('systemd');
    expect(await inHost(host(1).name, ['systemctl', 'is-active', 'ssh.service'])).toBe('active');
    await expect(lab.exec(`lab${LAB_ID}-h9`, ['true'])).rejects.toBeInstanceOf(LabError);
  });
});

describe('lab network', () => {
  it('routes the outsider and the pool to the hosts through the machine, and the hosts nowhere outside the lab', async () => {
    for (const [netns, target] of [[lab.outsider.netns, host(0).address], [lab.pool.netns, host(1).address]] as const) {
      const banner = await execa('nsenter', [`--net=/run/netns/${netns}`, 'bash', '-c', `exec 3<>/dev/tcp/${target}/22; head -c 8 <&3`]);
      expect(banner.stdout).toBe('SSH-2.0-');
    }
    // No route: a lab host cannot send a packet beyond 198.18.0.0/15 (the address is TEST-NET-3, never contacted).
    const beyond = await lab.exec(host(0).name, ['ip', 'route', 'get', '203.0.113.1']);
    expect(beyond.exitCode).not.toBe(0);
    expect(beyond.stderr).toContain('Network is unreachable');
    expect(await inHost(host(0).name, ['ip', 'route', 'get', lab.outsider.address])).toContain(`via ${host(0).managementAddress}`);
  });
});

describe('infection', () => {
  const cases: Array<{ index: number; unit: MinerUnit; dir: string; staging: boolean; immutable: boolean }> = [
    { index: 0, unit: 'c3pool_miner.service', dir: '/root/c3pool', staging: true, immutable: true },
    { index: 1, unit: 'moneroocean_miner.service', dir: '/root/moneroocean', staging: false, immutable: false },
  ];

  it.each(cases)('$unit runs the stand-in under systemd, connected to the pool, respawned when killed', async ({ index, unit, dir, staging, immutable }) => {
    const { name, address } = host(index);
    await lab.infect(name, unit, { staging, immutable });

    expect(await inHost(name, ['systemctl', 'is-active', unit])).toBe('active');
    expect(await inHost(name, ['cat', `/etc/systemd/system/${unit}`])).toBe((await readFile(join(SHARED_DIR, 'fixtures/units', unit), 'utf8')).trim());
    const pid = await mainPid(name, unit);
    expect(await inHost(name, ['readlink', `/proc/${pid}/exe`])).toBe(`${dir}/xmrig`);
    const standin = JSON.parse(await readFile(join(lab.dir, 'lab.json'), 'utf8')).standin as string;
    const standinSha = createHash('sha256').update(await readFile(standin)).digest('hex');
    expect((await inHost(name, ['sha256sum', `/proc/${pid}/exe`])).split(' ')[0]).toBe(standinSha);
    expect(await inHost(name, ['ps', '-o', 'args=', '-p', String(pid)])).toBe(`${dir}/xmrig --config=${dir}/config.json`);

    const config = JSON.parse(await inHost(name, ['cat', `${dir}/config.json`]));
    expect(config.pools[0].url).toBe(`stratum+tcp://${lab.pool.address}:3333`);
    expect(await inHost(name, ['ls', dir])).toBe('config.json\nconfig_background.json\nminer.sh\nxmrig');
    expect(await inHost(name, ['tail', '-n', '1', '/root/.profile'])).toContain(`${dir}/miner.sh`);
    expect(await inHost(name, ['cat', '/var/spool/cron/crontabs/root'])).toContain(`${dir}/miner.sh`);
    expect(await inHost(name, ['tail', '-n', '1', '/etc/sysctl.conf'])).toMatch(/^vm\.nr_hugepages=\d+$/);
    expect((await lab.exec(name, ['test', '-e', `/tmp/${unit}`])).exitCode).toBe(staging ? 0 : 1);
    const attributes = await inHost(name, ['lsattr', `/etc/systemd/system/${unit}`, `${dir}/xmrig`]);
    expect(attributes.split('\n').every((line) => /^\S*i\S* /.test(line))).toBe(immutable);
    if (immutable) expect((await lab.exec(name, ['rm', '-f', `${dir}/xmrig`])).exitCode).not.toBe(0);

    const connected = (await lab.poolEvents()).filter((e) => e.event === 'open' && e.peer.startsWith(`${address}:`));
    expect(connected).toHaveLength(1);
    const firstPeer = connected[0]!.peer;
    const sockets = await inHost(name, ['ss', '-Htnp', 'state', 'established', 'dst', `${lab.pool.address}:3333`]);
    expect(sockets).toContain(firstPeer);
    expect(sockets).toContain(`pid=${pid},`);

    // Restart=always: a killed miner comes back with a new PID, and reconnects.
    await inHost(name, ['kill', '-KILL', String(pid)]);
    const respawned = await eventually('a respawned miner', async () => {
      const next = await mainPid(name, unit);
      return next !== 0 && next !== pid ? next : undefined;
    });
    expect(await inHost(name, ['readlink', `/proc/${respawned}/exe`])).toBe(`${dir}/xmrig`);
    expect(Number(await inHost(name, ['systemctl', 'show', '--property=NRestarts', '--value', unit]))).toBeGreaterThanOrEqual(1);
    const events = await eventually('the pool to see the old connection close and a new one open', async () => {
      const seen = (await lab.poolEvents()).filter((e) => e.peer.startsWith(`${address}:`));
      const closed = seen.some((e) => e.event === 'close' && e.peer === firstPeer);
      return closed && seen.filter((e) => e.event === 'open').length === 2 ? seen : undefined;
    });
    expect(events.map((e) => e.event)).toEqual(['open', 'close', 'open']);
  });

  it('keeps the miner at about 0% CPU', async () => {
    const pid = await mainPid(host(1).name, 'moneroocean_miner.service');
    const ticks = async () => Number((await inHost(host(1).name, ['cat', `/proc/${pid}/stat`])).split(' ').slice(13, 15).reduce((a, b) => a + Number(b), 0));
    const before = await ticks();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // Clock ticks are 1/100 s: at most 2 ticks in 2 s is at most 1% of one core.
    expect((await ticks()) - before).toBeLessThanOrEqual(2);
  });
});

describe('teardown', () => {
  it('cleans up after an up that was killed half-way, without touching another lab', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'soar-lab-killed-'));
    try {
      const up = execa(LAB_SCRIPT, ['up', '--dir', dir, '--hosts', '2', '--lab', String(HALF_BOOTED_LAB_ID)], { reject: false, stdio: 'ignore' });
      // Kill it once its first host is booting: no trap runs after SIGKILL.
      await eventually('the half-finished lab to start booting', async () =>
        existsSync(join(dir, 'run', `lab${HALF_BOOTED_LAB_ID}-h1.pid`)) ? true : undefined, 120_000);
      up.kill('SIGKILL');
      await up;
      expect((await labResidue(HALF_BOOTED_LAB_ID)).netns.length).toBeGreaterThan(0);

      // No --lab: down finds the lab id in lab.json and everything else by name.
      await execa(LAB_SCRIPT, ['down', '--dir', dir], { stdin: 'ignore' });
      expect(await labResidue(HALF_BOOTED_LAB_ID)).toEqual(NO_RESIDUE);
      expect(existsSync(join(dir, 'hosts'))).toBe(false);

      const stillUp = await ssh(host(0).address, lab.knownHostsPath, 'hostname');
      expect(stillUp.stdout.trim()).toBe(host(0).name);
    } finally {
      await execa(LAB_SCRIPT, ['down', '--dir', dir, '--lab', String(HALF_BOOTED_LAB_ID)], { reject: false, stdin: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('tears a lab down when the process that started it exits without calling down()', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'soar-lab-exit-'));
    try {
      const script = join(scratch, 'forgetful.ts');
      const labModule = join(import.meta.dirname, '../lab/lab.ts');
      await writeFile(script, `import { startLab } from ${JSON.stringify(labModule)};\n` +
        `const lab = await startLab({ hosts: 1, lab: ${HALF_BOOTED_LAB_ID} });\n` +
        `console.log(lab.hosts[0].name);\nprocess.exit(0);\n`);
      const repo = join(import.meta.dirname, '../..');
      const run = await execa(join(repo, 'node_modules/.bin/vite-node'), [script], { cwd: repo, stdin: 'ignore' });
      expect(run.stdout.trim()).toBe(`lab${HALF_BOOTED_LAB_ID}-h1`);
      expect(await labResidue(HALF_BOOTED_LAB_ID)).toEqual(NO_RESIDUE);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 180_000);

  it('down leaves no namespace, mount, nspawn process, veth or guard of the lab, even with immutable files, and can run twice', async () => {
    expect((await labResidue(LAB_ID)).netns).toHaveLength(4);
    await lab.down();
    expect(await labResidue(LAB_ID)).toEqual(NO_RESIDUE);
    expect(existsSync(lab.dir)).toBe(false);
    await lab.down();
    expect(await labResidue(LAB_ID)).toEqual(NO_RESIDUE);
  }, 120_000);
});
