import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanContext } from '../../src/actions/action.js';
import { StepFailedError } from '../../src/actions/failure.js';
import { Records } from '../../src/actions/records.js';
import { ACTIONS } from '../../src/actions/registry.js';
import { hostScript } from '../../src/actions/script.js';
import { parseAlerts } from '../../src/alert/intake.js';
import { DEFAULT_PLAYBOOK } from '../../src/cli/defaults.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { performStep, settleStep, type StepIo } from '../../src/engine/perform-step.js';
import { buildPlan, type Plan, type PlannedStep } from '../../src/plan/plan.js';
import { loadPlaybook, type Playbook } from '../../src/playbook/load.js';
import { SshFleet } from '../../src/transport/ssh/fleet.js';
import type { ExecResult, Transport } from '../../src/transport/transport.js';
import { startLab, type Lab, type LabHost } from '../lab/lab.js';
import { eventually } from './support.js';
import { exampleHit, setField, sourceOf } from '../unit/alert/example.js';

// Isolation and release on real Debian hosts, through the same step executor soar runs: lab 3.
const LAB_ID = 3;
/** A port the tests open on a host, to show isolation closes more than sshd. */
const OPEN_PORT = 8080;
/** The outsider listens on both; the allow-list names only the first (the SIEM, say). */
const ALLOWED_PORT = 9200;
const OTHER_PORT = 9201;
/** An IPv6 link between this machine and the infected host, beside the lab's IPv4 one. */
const V6 = { machine: `fd5a:0:${LAB_ID}::1`, host: `fd5a:0:${LAB_ID}::2` };
/** A network behind the first host (a container bridge, say), to show forwarding is dropped. */
const BEHIND = { netns: `soar${LAB_ID}-behind`, hostSide: 'soarbehind0', address: `198.18.${LAB_ID}.254`, gateway: `198.18.${LAB_ID}.253`, prefix: `198.18.${LAB_ID}.252/30` };

let lab: Lab;
let config: Config;
let playbook: Playbook;
let infected: LabHost;
let spare: LabHost;
const fleets: SshFleet[] = [];
let outsiderListener: ReturnType<typeof execa> | undefined;
let machineListener: ReturnType<typeof execa> | undefined;
const measured: Record<string, number> = {};

beforeAll(async () => {
  lab = await startLab({ hosts: 2, lab: LAB_ID });
  [infected, spare] = lab.hosts as [LabHost, LabHost];
  config = await loadConfig(lab.configPath);
  playbook = await loadPlaybook(DEFAULT_PLAYBOOK, ACTIONS);
  await lab.infect(infected.name, 'c3pool_miner.service');
}, 600_000);

afterAll(async () => {
  await Promise.all(fleets.map((fleet) => fleet.close()));
  for (const listener of [outsiderListener, machineListener]) {
    listener?.kill();
    await listener?.catch(() => undefined);
  }
  await execa('ip', ['netns', 'delete', BEHIND.netns], { reject: false });
  console.info('isolation measurements (ms):', JSON.stringify(measured));
  await lab?.down();
}, 120_000);

function fleetFor(changed: Config): SshFleet {
  const fleet = new SshFleet(changed);
  fleets.push(fleet);
  return fleet;
}

/** The lab's inventory with a short revert delay, so that a test can outwait the timer. */
function withIsolation(isolation: Partial<Config['isolation']>, hosts: Config['hosts'] = config.hosts): Config {
  return { ...config, hosts, isolation: { ...config.isolation, ...isolation } };
}

/** The bundled playbook's plan for the example alert, about a lab host. */
function planFor(host: LabHost, planConfig: Config): Plan {
  const hit = exampleHit();
  setField(sourceOf(hit), 'host.name', host.name);
  setField(sourceOf(hit), 'file.path', '/etc/systemd/system/c3pool_miner.service');
  const [alert] = parseAlerts(hit);
  return buildPlan({ alert: alert!, playbook, config: planConfig, actions: ACTIONS });
}

function contextOf(plan: Plan, step: PlannedStep, planConfig: Config): PlanContext {
  return { target: plan.target, config: planConfig, runId: plan.runId, timeoutMs: step.timeoutMs, alertTime: plan.alert.timestamp };
}

/** The playbook's isolate step, or a release step planned for the same run (release has its own approval, outside the playbook). */
function stepOf(plan: Plan, action: 'isolate' | 'release', planConfig: Config): PlannedStep {
  const isolateStep = plan.steps.find((candidate) => candidate.action === 'isolate');
  if (!isolateStep) throw new Error('the bundled playbook has no isolate step');
  if (action === 'isolate') return isolateStep;
  const commands = ACTIONS.get('release')!.plan({}, contextOf(plan, isolateStep, planConfig));
  return { ...isolateStep, id: 'release', action: 'release', params: {}, approval: undefined, commands };
}

function sshIo(fleet: SshFleet, host: LabHost): StepIo {
  return { host: fleet.transport(host.name), probe: () => fleet.probe(host.name), deliver: async () => undefined };
}

/** Runs a planned step of the bundled playbook on a host, as soar run does. */
async function perform(action: 'isolate' | 'release', host: LabHost, planConfig: Config, io: StepIo) {
  const plan = planFor(host, planConfig);
  const step = stepOf(plan, action, planConfig);
  return performStep(step, ACTIONS.get(action)!, contextOf(plan, step, planConfig), io);
}

/** Whether the step's read-only verify finds its effect in place. */
async function verified(action: 'isolate' | 'release', host: LabHost, io: StepIo): Promise<boolean> {
  const plan = planFor(host, config);
  const step = stepOf(plan, action, config);
  return (await settleStep(step, ACTIONS.get(action)!, contextOf(plan, step, config), io)) !== undefined;
}

async function inHost(host: LabHost, script: string): Promise<string> {
  const result = await lab.exec(host.name, ['sh', '-c', script]);
  expect(result, `${script} in ${host.name}`).toMatchObject({ exitCode: 0 });
  return result.stdout.trim();
}

/** OpenSSH from the machine (the management address), pinned to the lab's known_hosts: a new connection each time. */
async function openSsh(host: LabHost, command = 'hostname') {
  return execa('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`,
    '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=3', '-i', lab.identityFile, `root@${host.address}`, command], { reject: false, stdin: 'ignore' });
}

/** Whether a NEW TCP connection from a namespace reaches address:port within 3 s. */
/** Whether a NEW TCP connection from the namespace (or this machine) reaches address:port within 3 s. */
async function tcpConnects(netns: string | undefined, address: string, port: number): Promise<boolean> {
  const connect = ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`];
  const [program, ...args] = netns === undefined ? connect : ['nsenter', `--net=/run/netns/${netns}`, ...connect];
  return (await execa(program!, args, { reject: false })).exitCode === 0;
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const soarTables = async (host: LabHost) => (await inHost(host, 'nft list tables')).split('\n').filter((line) => line.includes('soar_isolation'));
const revertTimers = async (host: LabHost) => inHost(host, "systemctl list-units --all --plain --no-legend 'soar-revert-*'");
const poolEventsOf = async (host: LabHost) => (await lab.poolEvents()).filter((event) => event.peer.startsWith(`${host.address}:`));

/** Whether a NEW TCP connection from a host reaches address:port within 3 s (run inside it, without SSH). */
async function hostConnects(host: LabHost, address: string, port: number): Promise<boolean> {
  return (await lab.exec(host.name, ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`])).exitCode === 0;
}

/** A listener on the address given first and every port after it, accepting and closing connections. */
const LISTENER = `import selectors, socket, sys
selector = selectors.DefaultSelector()
address = sys.argv[1]
for port in sys.argv[2:]:
    server = socket.create_server((address, int(port)), family=socket.AF_INET6 if ":" in address else socket.AF_INET, reuse_port=True)
    selector.register(server, selectors.EVENT_READ)
while True:
    for key, _ in selector.select():
        key.fileobj.accept()[0].close()
`;

/** Runs programs inside a host without SSH: no SSH_CONNECTION and no sshd among the script's parents. */
function labTransport(host: LabHost): Transport {
  return {
    async exec(command): Promise<ExecResult> {
      const startedAt = new Date();
      const result = await lab.exec(host.name, [...command.argv]);
      return { command: command.argv.join(' '), exitCode: result.exitCode, signal: null, stdout: result.stdout, stderr: result.stderr, truncated: false,
        startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), timedOut: false, outcomeUnknown: false };
    },
    close: async () => undefined,
  };
}

describe('isolate on an infected host', () => {
  let fleet: SshFleet;
  let io: StepIo;
  let result: Awaited<ReturnType<typeof perform>>;
  let isolatedAt: number;
  let minerPeer: string;
  let shortRevert: Config;

  beforeAll(async () => {
    // An IPv6 management address and allow-list entry too: nft and ss must read both families.
    shortRevert = withIsolation({
      revert_after: 5_000,
      management: [...config.isolation.management, '2001:db8::1'],
      allow_out: [{ address: lab.outsider.address, port: ALLOWED_PORT, protocol: 'tcp' }, { address: '2001:db8:1::/48', port: 443, protocol: 'tcp' }],
    });
    fleet = fleetFor(shortRevert);
    io = sshIo(fleet, infected);
    // A listener of our own on the host, and a network behind it that the host forwards to the pool.
    await inHost(infected, `systemd-run --quiet --unit=soar-test-listener python3 -c "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', ${OPEN_PORT})); s.listen(16)
while True: s.accept()[0].close()"`);
    await execa('ip', ['netns', 'add', BEHIND.netns]);
    await execa('ip', ['link', 'add', BEHIND.hostSide, 'netns', infected.netns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', BEHIND.netns]);
    await execa('ip', ['-n', infected.netns, 'address', 'add', `${BEHIND.gateway}/30`, 'dev', BEHIND.hostSide]);
    await execa('ip', ['-n', infected.netns, 'link', 'set', BEHIND.hostSide, 'up']);
    await execa('ip', ['-n', BEHIND.netns, 'address', 'add', `${BEHIND.address}/30`, 'dev', 'eth0']);
    await execa('ip', ['-n', BEHIND.netns, 'link', 'set', 'eth0', 'up']);
    await execa('ip', ['-n', BEHIND.netns, 'route', 'add', 'default', 'via', BEHIND.gateway]);
    await execa('nsenter', [`--net=/run/netns/${infected.netns}`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await execa('ip', ['route', 'replace', BEHIND.prefix, 'via', infected.address]);
    outsiderListener = execa('nsenter', [`--net=/run/netns/${lab.outsider.netns}`, 'python3', '-c', LISTENER, '0.0.0.0', String(ALLOWED_PORT), String(OTHER_PORT)], { stdin: 'ignore' });
    await execa('ip', ['address', 'add', `${V6.machine}/64`, 'dev', `soar${LAB_ID}h${infected.index}`, 'nodad']);
    await execa('ip', ['-n', infected.netns, 'address', 'add', `${V6.host}/64`, 'dev', 'eth0', 'nodad']);
    machineListener = execa('python3', ['-c', LISTENER, V6.machine, String(OTHER_PORT)], { stdin: 'ignore' });

    // Every path the isolation must close is open before it: none of the checks below can pass vacuously.
    expect(await tcpConnects(lab.outsider.netns, infected.address, 22)).toBe(true);
    expect(await eventually('the test listener', async () => ((await tcpConnects(lab.outsider.netns, infected.address, OPEN_PORT)) ? true : undefined))).toBe(true);
    expect(await tcpConnects(BEHIND.netns, lab.pool.address, lab.pool.ports[1]!)).toBe(true);
    expect(await eventually('the outsider listener', async () => ((await hostConnects(infected, lab.outsider.address, ALLOWED_PORT)) ? true : undefined))).toBe(true);
    expect(await hostConnects(infected, lab.outsider.address, OTHER_PORT)).toBe(true);
    expect(await tcpConnects(undefined, V6.host, 22)).toBe(true);
    expect(await eventually('the machine listener', async () => ((await hostConnects(infected, V6.machine, OTHER_PORT)) ? true : undefined))).toBe(true);
    const opens = (await poolEventsOf(infected)).filter((event) => event.event === 'open');
    minerPeer = opens.at(-1)!.peer;
    expect((await poolEventsOf(infected)).filter((event) => event.peer === minerPeer).map((event) => event.event)).toEqual(['open']);

    isolatedAt = Date.now();
    result = await perform('isolate', infected, shortRevert, io);
    measured.isolateStep = Date.now() - isolatedAt;
  }, 120_000);

  it('applies one inet table that drops input, output and forward by default, checked and reported as applied', async () => {
    expect(result.outcome).toBe('isolated');
    expect(result.changed).toBe(true);
    const listed = JSON.parse(await inHost(infected, 'nft -j list table inet soar_isolation')) as { nftables: Array<Record<string, any>> };
    const chains = listed.nftables.flatMap((item) => (item.chain ? [item.chain] : []));
    expect(listed.nftables.find((item) => item.table)?.table).toMatchObject({ family: 'inet', name: 'soar_isolation' });
    expect(chains.map((chain) => [chain.name, chain.family, chain.hook, chain.policy])).toEqual([
      ['input', 'inet', 'input', 'drop'],
      ['output', 'inet', 'output', 'drop'],
      ['forward', 'inet', 'forward', 'drop'],
    ]);
    expect(await soarTables(infected)).toEqual(['table inet soar_isolation']);
    // Connection tracking only ever accepts the allow-list's replies: never a blanket established/related.
    const text = await inHost(infected, 'nft list table inet soar_isolation');
    for (const line of text.split('\n').filter((rule) => rule.includes('ct state'))) expect(line).toMatch(/saddr/);
  });

  it('cuts the miner off the pool: the pool sees its connection end and no new one arrive', async () => {
    await eventually('the pool to see the miner connection close', async () =>
      (await poolEventsOf(infected)).some((event) => event.event === 'close' && event.peer === minerPeer) ? true : undefined, 5_000);
    const closedAt = (await poolEventsOf(infected)).find((event) => event.event === 'close' && event.peer === minerPeer)!.t;
    measured.poolSawClose = closedAt - isolatedAt;
    expect(result.evidence.uncut).toEqual([]);
    expect(result.evidence.cut).toEqual([expect.stringMatching(new RegExp(`${minerPeer.replace(/\./g, '\\.')} ${lab.pool.address.replace(/\./g, '\\.')}:3333 users:\\(\\("xmrig",pid=\\d+`))]);
    // The stand-in reconnects every 3 s, and is still running: none of its attempts gets through.
    await sleep(7_000);
    expect((await inHost(infected, 'systemctl is-active c3pool_miner.service'))).toBe('active');
    expect((await poolEventsOf(infected)).filter((event) => event.t > closedAt)).toEqual([]);
    await eventually('a reconnection attempt that never gets an answer', async () =>
      (await inHost(infected, `ss -Htn state syn-sent dst ${lab.pool.address}`)).includes(`${lab.pool.address}:3333`) ? true : undefined, 10_000);
  });

  it('drops new connections from outside, to sshd and to any other port, and traffic it would forward', async () => {
    expect(await tcpConnects(lab.outsider.netns, infected.address, 22)).toBe(false);
    expect(await tcpConnects(lab.outsider.netns, infected.address, OPEN_PORT)).toBe(false);
    expect(await tcpConnects(BEHIND.netns, lab.pool.address, lab.pool.ports[1]!)).toBe(false);
    // The listener is still there: it is the network that refuses.
    expect(await inHost(infected, `ss -Htln sport = :${OPEN_PORT}`)).toContain(`:${OPEN_PORT}`);
  });

  it('closes IPv6 as it closes IPv4: no new connection in, to sshd, and none out', async () => {
    expect(await tcpConnects(undefined, V6.host, 22)).toBe(false);
    expect(await hostConnects(infected, V6.machine, OTHER_PORT)).toBe(false);
  });

  it('lets the host reach its allow-list and nothing else', async () => {
    expect(await hostConnects(infected, lab.outsider.address, ALLOWED_PORT)).toBe(true);
    expect(await hostConnects(infected, lab.outsider.address, OTHER_PORT)).toBe(false);
    expect(await hostConnects(infected, lab.pool.address, 3333)).toBe(false);
    const rules = await inHost(infected, 'nft list chain inet soar_isolation output');
    expect(rules).toContain(`ip daddr ${lab.outsider.address} tcp dport ${ALLOWED_PORT} accept`);
    expect(rules).toContain('ip6 daddr 2001:db8:1::/48 tcp dport 443 accept');
  });

  it('keeps management SSH: new OpenSSH and SshFleet connections from the management address work', async () => {
    expect(result.evidence).toMatchObject({ managementSource: 'ssh_connection', sshPort: 22 });
    expect(String(result.evidence.management)).toMatch(new RegExp(`^${infected.managementAddress.replace(/\./g, '\\.')} \\d+ ${infected.address.replace(/\./g, '\\.')} 22$`));
    const reached = await openSsh(infected);
    expect(reached.stdout.trim()).toBe(infected.name);
    const fresh = fleetFor(config);
    expect((await fresh.transport(infected.name).exec({ argv: ['hostname'], timeoutMs: 10_000 })).stdout.trim()).toBe(infected.name);
  });

  it('disarmed the revert timer after the proof: the table outlives the revert delay, and verify holds', async () => {
    expect(result.evidence.disarmed).toEqual([result.evidence.revertTimer]);
    expect(await revertTimers(infected)).toBe('');
    await sleep(Math.max(0, isolatedAt + 5_000 + 2_000 - Date.now()));
    expect(await soarTables(infected)).toEqual(['table inet soar_isolation']);
    expect(await verified('isolate', infected, io)).toBe(true);
    expect(await verified('release', infected, io)).toBe(false);
  });

  it('reruns harmlessly: the table is replaced atomically, nothing changes, and the run says so', async () => {
    const again = await perform('isolate', infected, shortRevert, io);
    expect(again).toMatchObject({ outcome: 'isolated', changed: false, evidence: { cut: [] } });
    expect(again.summary).toMatch(/^already isolated/);
    expect(await soarTables(infected)).toEqual(['table inet soar_isolation']);
    expect(await revertTimers(infected)).toBe('');
    expect((await openSsh(infected)).exitCode).toBe(0);
    expect(await tcpConnects(lab.outsider.netns, infected.address, 22)).toBe(false);
  });

  it('sees a changed table as no longer the isolation soar applied', async () => {
    await inHost(infected, 'nft add rule inet soar_isolation input tcp dport 8080 accept');
    expect(await verified('isolate', infected, io)).toBe(false);
    // Isolating again restores the table soar means.
    await perform('isolate', infected, shortRevert, io);
    expect(await verified('isolate', infected, io)).toBe(true);
  });

  it('release removes the table and every timer, the miner reconnects, twice is harmless, and verify follows', async () => {
    const releasedAt = Date.now();
    const released = await perform('release', infected, config, io);
    expect(released).toMatchObject({ outcome: 'released', changed: true, evidence: { released: true } });
    expect(await soarTables(infected)).toEqual([]);
    expect(await revertTimers(infected)).toBe('');
    expect(await tcpConnects(lab.outsider.netns, infected.address, 22)).toBe(true);
    expect(await tcpConnects(undefined, V6.host, 22)).toBe(true);
    await eventually('the miner to reach the pool again', async () =>
      (await poolEventsOf(infected)).some((event) => event.event === 'open' && event.t >= releasedAt) ? true : undefined, 15_000);

    const twice = await perform('release', infected, config, io);
    expect(twice).toMatchObject({ outcome: 'released', changed: false, summary: 'the host was not isolated' });
    expect(await verified('isolate', infected, io)).toBe(false);
    expect(await verified('release', infected, io)).toBe(true);
  });
});

describe('the management address as the host sees it', () => {
  it('reads SSH_CONNECTION as root, and without it finds the session from its own sshd socket', async () => {
    const fleet = fleetFor(config);
    const transport = fleet.transport(spare.name);
    const session = (await transport.exec({ argv: ['sh', '-c', 'id -u; printf %s "$SSH_CONNECTION"'], timeoutMs: 10_000 })).stdout.split('\n');
    expect(session[0]).toBe('0');
    expect(session[1]).toMatch(new RegExp(`^${spare.managementAddress.replace(/\./g, '\\.')} \\d+ ${spare.address.replace(/\./g, '\\.')} 22$`));

    const plan = planFor(spare, config);
    const run = (prefix: string[]) => {
      const command = hostScript('isolate', [plan.runId, '30'], 30_000);
      return transport.exec({ ...command, argv: [...prefix, ...command.argv] });
    };
    try {
      // No mgmt= arguments: the session is the only management address the rules can admit.
      const seen = new Records((await run([])).stdout);
      expect({ source: seen.get('management_source'), management: seen.get('management') }).toEqual({ source: 'ssh_connection', management: session[1] });
      const fallback = await run(['env', '-u', 'SSH_CONNECTION']);
      const found = new Records(fallback.stdout);
      expect(fallback.exitCode).toBe(0);
      // Same reused connection, so the same four numbers: read from the socket this time.
      expect({ source: found.get('management_source'), management: found.get('management') }).toEqual({ source: 'sshd_socket', management: session[1] });
      expect(found.get('ruleset')).toContain(`ip saddr ${spare.managementAddress} tcp dport 22 accept`);
      await fleet.probe(spare.name);
      expect((await openSsh(spare)).exitCode).toBe(0);
    } finally {
      await transport.exec(hostScript('release', [], 30_000));
    }
    expect(await soarTables(spare)).toEqual([]);
  });

  it('refuses to isolate when it knows no management address at all, or is given one that is not an address, and changes nothing', async () => {
    const plan = planFor(spare, config);
    const isolateWith = (args: string[]) => lab.exec(spare.name, [...hostScript('isolate', [plan.runId, '30', ...args], 30_000).argv]);
    const refusals = [
      [[], /^no management address: .*add the address soar connects from to isolation\.management$/],
      [[`mgmt=${spare.managementAddress} tcp dport 22 accept; flush ruleset`], /^refused address: /],
      [['mgmt=$(reboot)'], /^refused address: /],
      [[`mgmt=${spare.managementAddress}`, 'allow=icmp,198.18.0.0/15,'], /^refused protocol: icmp$/],
      [[`mgmt=${spare.managementAddress}`, 'allow=tcp,198.18.0.1,22 accept'], /^refused port: /],
      [[`mgmt=${spare.managementAddress}`, 'drop-everything'], /^refused isolation argument: /],
    ] as const;
    for (const [args, message] of refusals) {
      const refused = await isolateWith([...args]);
      expect({ args, exitCode: refused.exitCode }).toEqual({ args, exitCode: 64 });
      expect(new Records(refused.stdout).get('error')).toMatch(message);
    }
    expect(await soarTables(spare)).toEqual([]);
    expect(await revertTimers(spare)).toBe('');
  });
});

describe('confirm or revert', () => {
  /** Long enough to see the isolation hold (a 2 s probe timeout, a 3 s OpenSSH attempt), short enough to wait for. */
  const REVERT_MS = 10_000;

  it('when no new connection can prove access, the timer removes the isolation by itself and SSH works again', async () => {
    // The host is told to admit SSH from an address soar does not use, and (run without SSH) sees no session of its own.
    const wrong = withIsolation({ management: [`198.18.${LAB_ID}.99`], revert_after: REVERT_MS }, {
      ...config.hosts,
      [spare.name]: { ...config.hosts[spare.name]!, connect_timeout: 2_000 },
    });
    const fleet = fleetFor(wrong);
    const started = Date.now();
    const failure = await perform('isolate', spare, wrong, { host: labTransport(spare), probe: () => fleet.probe(spare.name), deliver: async () => undefined })
      .then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailedError);
    expect((failure as StepFailedError).message).toMatch(/^prove management access over a new SSH connection/);

    // The isolation really shut soar out: the timer, not luck, brings SSH back.
    expect(await soarTables(spare)).toEqual(['table inet soar_isolation']);
    expect(await revertTimers(spare)).toMatch(/^soar-revert-run-[0-9a-f]+_\d+\.timer +loaded active +waiting /m);
    expect((await openSsh(spare)).exitCode).toBe(255);

    await eventually('the revert timer to remove the table', async () => ((await soarTables(spare)).length === 0 ? true : undefined), REVERT_MS + 5_000);
    measured.revertAfterIsolateStart = Date.now() - started;
    expect(Date.now() - started).toBeGreaterThanOrEqual(REVERT_MS);
    expect((await openSsh(spare)).stdout.trim()).toBe(spare.name);
    await fleet.probe(spare.name);
    expect(await revertTimers(spare)).toBe('');
  });
});
