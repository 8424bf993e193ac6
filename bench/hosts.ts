import { readdir, readFile, appendFile, mkdtemp, rm } from 'node:fs/promises';
import { cpus, hostname, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import * as z from 'zod';
import { startLab, type Lab, type LabHost } from '../test/lab/lab.js';
import { SOAR_BIN, writeAlert, writeAlerts, writeSoarConfig } from '../test/e2e/support.js';
import { median } from './lib/stats.js';
import { runFloor, type RemoteLine, type SshEndpoint } from './lib/ssh-floor.js';
import { ansibleArgv, ansibleEnv, ensureAnsible, writeAnsibleProject, type AnsibleTarget } from './ansible/playbook.js';

/**
 * soar vs one multiplexed OpenSSH connection (the floor) vs ansible-playbook, on the same lab
 * hosts with the same remote lines (from `soar plan --json`), interleaved in rotating order.
 * Run: npx vite-node bench/hosts.ts  (as root; uses the built dist/, so `npm run build` first)
 */

const LAB_ID = 48;
const SINGLE_ROUNDS = 9;
const FLEET_ROUNDS = 3;
const FLEETS = [5, 20] as const;
const RUN_TIMEOUT_MS = 180_000;
const BENCH_DEADLINE_MS = 30 * 60_000;
const SAMPLE_EVERY_MS = 100;
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
// Ansible needs Python's standard library on the host; the lab's hosts carry only python3-minimal.
const PYTHON_STDLIB = 'libpython3.11-stdlib';

type Contestant = 'floor' | 'soar' | 'ansible';
/** Wall time, peak memory, the contestant's own CPU (ms, where measured) and the hosts' CPU. */
interface Sample { ms: number; peakPssKb: number; cpuMs?: number; hostCpuMs?: number }

const planSchema = z.object({
  runId: z.string(),
  host: z.object({ address: z.string(), port: z.number(), user: z.string() }),
  steps: z.array(
    z.object({
      commands: z.array(
        z.object({
          where: z.string(),
          line: z.string().optional(),
          purpose: z.string(),
          fresh: z.boolean().optional(),
          command: z.object({ stdin: z.string().optional() }).optional(),
        }),
      ),
    }),
  ),
});

/** The exact lines ssh would send for a new alert about `host`, from `soar plan --json`. */
async function planFor(lab: Lab, config: string, host: LabHost): Promise<{ alert: string; endpoint: SshEndpoint; lines: RemoteLine[] }> {
  const alert = await writeAlert(lab, host.name);
  const planned = await execa(process.execPath, [SOAR_BIN, 'plan', '--json', '--alert', alert, '--config', config], { env: { SOAR_CONFIG: '' } });
  const plan = planSchema.parse(JSON.parse(planned.stdout));
  const lines = plan.steps.flatMap((step) =>
    step.commands.flatMap((command) =>
      command.where === 'host' && command.line !== undefined
        ? [{ line: command.line, stdin: command.command?.stdin, fresh: command.fresh === true, purpose: command.purpose }]
        : [],
    ),
  );
  return { alert, lines, endpoint: { ...plan.host, identityFile: lab.identityFile, knownHostsPath: lab.knownHostsPath } };
}

/** Back to a freshly infected host: isolation released, leftovers stopped, the miner installed again. */
async function reinfect(lab: Lab, hosts: LabHost[]): Promise<void> {
  await Promise.all(
    hosts.map(async (host) => {
      await lab.exec(host.name, ['sh', '-c', 'systemctl disable --now c3pool_miner.service 2>/dev/null; nft delete table inet soar_isolation 2>/dev/null; systemctl reset-failed; true']);
      await lab.infect(host.name, 'c3pool_miner.service', { staging: true });
    }),
  );
}

/** A response only counts if it did the work: the miner's unit no longer loads on any host. */
async function checkResponded(lab: Lab, hosts: LabHost[], who: Contestant): Promise<void> {
  for (const host of hosts) {
    const state = await lab.exec(host.name, ['systemctl', 'show', '-p', 'LoadState', '--value', 'c3pool_miner.service']);
    if (state.stdout.trim() !== 'not-found') throw new Error(`${who} left c3pool_miner.service ${state.stdout.trim()} on ${host.name}: its time does not count`);
  }
}

/** A process's children, from the kernel's per-thread lists: no scan of every process on the machine. */
async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const lists = await Promise.all(tasks.map((task) => readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')));
  return lists.flatMap((list) => list.split(' ').filter((entry) => entry !== '').map(Number));
}

/**
 * Summed PSS (kB) of the process trees under `roots`: PSS so that forked workers' shared pages
 * count once. It walks down from the roots only, so sampling costs the same however many
 * processes the lab hosts run (a scan of all of /proc took CPU from the contestant it measured).
 */
async function treePssKb(roots: number[]): Promise<number> {
  const pending = [...roots];
  let total = 0;
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    pending.push(...(await childrenOf(pid)));
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    total += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  }
  return total;
}

/** Runs the program, then has the shell print `times`: the CPU the program and the descendants it waited for used. */
const TIMED = '"$@"; status=$?; times >&2; exit $status';

/** User + system CPU (ms) from the children's line of `times` ("0m1.260000s 0m0.290000s"), the last line of the output. */
function childrenCpuMs(output: string): number {
  const line = output.trimEnd().split('\n').at(-1) ?? '';
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map(([, minutes, seconds]) => (Number(minutes) * 60 + Number(seconds)) * 1000);
  return parts.length === 2 ? parts[0]! + parts[1]! : Number.NaN;
}

/** Wall time of one contestant's process, the peak of its tree's summed PSS, and the CPU it used. */
async function measureProcess(program: string, args: string[], env: Record<string, string>): Promise<Sample> {
  const began = performance.now();
  const child = execa('sh', ['-c', TIMED, 'timed', program, ...args], { env, stdin: 'ignore', all: true, reject: false, timeout: RUN_TIMEOUT_MS });
  let peakPssKb = 0;
  let running = true;
  const sampler = (async () => {
    while (running && child.pid !== undefined) {
      peakPssKb = Math.max(peakPssKb, await treePssKb([child.pid]));
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
  })();
  const result = await child;
  const ms = performance.now() - began;
  running = false;
  await sampler;
  const output = String(result.all ?? '');
  if (result.exitCode !== 0) throw new Error(`${program} exited ${result.exitCode}: ${output.trim().split('\n').slice(-10).join('\n')}`);
  return { ms, peakPssKb, cpuMs: childrenCpuMs(output) };
}

/** CPU time the lab hosts have used (their own cgroups), in ms; NaN where the lab has no per-host cgroup. */
async function hostsCpuMs(hosts: LabHost[]): Promise<number> {
  const used = await Promise.all(
    hosts.map(async (host) => {
      const stat = await readFile(`/sys/fs/cgroup/unified/soar-lab/${host.name}/cpu.stat`, 'utf8').catch(() => '');
      return Number(/^usage_usec (\d+)$/m.exec(stat)?.[1] ?? Number.NaN) / 1000;
    }),
  );
  return used.reduce((sum, ms) => sum + ms, 0);
}

/** A sample, with the CPU the hosts spent on it: what a fleet's response costs the hosts themselves. */
async function withHostCpu(hosts: LabHost[], measure: () => Promise<Sample>): Promise<Sample> {
  const before = await hostsCpuMs(hosts);
  const sample = await measure();
  return { ...sample, hostCpuMs: (await hostsCpuMs(hosts)) - before };
}

interface Setup { lab: Lab; config: string; work: string }

/** One soar process for the whole fleet: the alerts in one file, a lane per host, all hosts at once. */
async function runSoar({ lab, config, work }: Setup, hosts: LabHost[], round: string): Promise<Sample> {
  const alerts = await writeAlerts(lab, hosts.map((host) => ({ host: host.name })));
  const args = [SOAR_BIN, 'run', '--json', '--alert', alerts, '--config', config, '--store', join(work, `soar-${round}.db`), '--parallel', String(hosts.length), '--approve-as', 'demo-analyst', '--reason', 'bench'];
  return measureProcess(process.execPath, args, { SOAR_CONFIG: '' });
}

async function runAnsible({ lab, config, work }: Setup, hosts: LabHost[], round: string): Promise<Sample> {
  const targets: AnsibleTarget[] = await Promise.all(hosts.map(async (host) => ({ name: host.name, ...(await planFor(lab, config, host)) })));
  const dir = join(work, `ansible-${round}`);
  await writeAnsibleProject(dir, targets);
  const [program, ...args] = ansibleArgv(dir, hosts.length);
  return measureProcess(program!, args, ansibleEnv(dir));
}

async function runFloorOnce({ lab, config }: Setup, host: LabHost): Promise<Sample> {
  const { endpoint, lines } = await planFor(lab, config, host);
  const began = performance.now();
  await runFloor(endpoint, lines);
  return { ms: performance.now() - began, peakPssKb: Number.NaN };
}

/** Puts Python's standard library on each host for Ansible's modules (files only, over SSH). */
async function prepareForAnsible(lab: Lab, work: string): Promise<void> {
  await execa('apt-get', ['download', PYTHON_STDLIB], { cwd: work, stdout: 'ignore', stderr: 'ignore' });
  const deb = (await readdir(work)).find((name) => name.startsWith(`${PYTHON_STDLIB}_`) && name.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${PYTHON_STDLIB} left no .deb in ${work}`);
  await Promise.all(
    lab.hosts.map((host) =>
      execa('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$2" -i "$3" root@"$4" tar -x -C /', 'unpack', join(work, deb), lab.knownHostsPath, lab.identityFile, host.address]),
    ),
  );
}


const rotate = <T>(items: readonly T[], by: number): T[] => items.map((_, index) => items[(index + by) % items.length]!);

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`bench/hosts.ts: over ${BENCH_DEADLINE_MS / 60_000} min, giving up (the lab is torn down on exit)`);
    process.exit(1);
  }, BENCH_DEADLINE_MS);
  const ansibleVersion = await ensureAnsible();
  const work = await mkdtemp(join(tmpdir(), 'soar-bench-hosts-'));
  const lab = await startLab({ hosts: Math.max(...FLEETS), lab: LAB_ID });
  try {
    const setup: Setup = { lab, config: await writeSoarConfig(lab, undefined), work };
    await prepareForAnsible(lab, work);
    const single: Record<Contestant, Sample[]> = { floor: [], soar: [], ansible: [] };
    const host = lab.hosts[0]!;
    for (let round = 0; round < SINGLE_ROUNDS; round += 1) {
      for (const who of rotate(['floor', 'soar', 'ansible'] as const, round)) {
        await reinfect(lab, [host]);
        const sample = await withHostCpu([host], () =>
          who === 'floor' ? runFloorOnce(setup, host) : who === 'soar' ? runSoar(setup, [host], `1-${round}`) : runAnsible(setup, [host], `1-${round}`),
        );
        await checkResponded(lab, [host], who);
        single[who].push(sample);
        console.error(`single round ${round + 1}: ${who} ${sample.ms.toFixed(0)} ms, host CPU ${sample.hostCpuMs?.toFixed(0)} ms`);
      }
    }
    const fleets = new Map<number, Record<'soar' | 'ansible', Sample[]>>([[1, { soar: single.soar, ansible: single.ansible }]]);
    for (const size of FLEETS) {
      const hosts = lab.hosts.slice(0, size);
      const samples: Record<'soar' | 'ansible', Sample[]> = { soar: [], ansible: [] };
      for (let round = 0; round < FLEET_ROUNDS; round += 1) {
        for (const who of rotate(['soar', 'ansible'] as const, round)) {
          await reinfect(lab, hosts);
          const sample = await withHostCpu(hosts, () => (who === 'soar' ? runSoar(setup, hosts, `${size}-${round}`) : runAnsible(setup, hosts, `${size}-${round}`)));
          await checkResponded(lab, hosts, who);
          samples[who].push(sample);
          console.error(`fleet ${size} round ${round + 1}: ${who} ${sample.ms.toFixed(0)} ms, peak ${(sample.peakPssKb / 1024).toFixed(0)} MB, host CPU ${sample.hostCpuMs?.toFixed(0)} ms`);
        }
      }
      fleets.set(size, samples);
    }
    const report = render(single, fleets, ansibleVersion);
    await appendFile(RESULTS, report);
    console.log(report);
  } finally {
    clearTimeout(deadline);
    await lab.down();
    await rm(work, { recursive: true, force: true });
  }
}

function render(single: Record<Contestant, Sample[]>, fleets: Map<number, Record<'soar' | 'ansible', Sample[]>>, ansibleVersion: string): string {
  const ms = (samples: Sample[]) => median(samples.map((sample) => sample.ms));
  const mb = (samples: Sample[]) => median(samples.map((sample) => sample.peakPssKb)) / 1024;
  const cpu = (samples: Sample[]) => median(samples.map((sample) => sample.hostCpuMs ?? Number.NaN));
  const own = (samples: Sample[]) => median(samples.map((sample) => sample.cpuMs ?? Number.NaN));
  const cores = cpus().length;
  const soar1 = ms(single.soar);
  const lines = [
    '',
    `## Hosts: soar vs multiplexed OpenSSH vs Ansible (${new Date().toISOString()})`,
    '',
    `Machine: ${hostname()}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, Node ${process.version}, ${ansibleVersion}.`,
    `Lab hosts (systemd-nspawn, Debian 12); the same remote lines from \`soar plan --json\`; soar = one \`soar run --approve-as --parallel N\` given the N alerts in one file; Ansible = shell tasks, pipelining, gather_facts off, --forks N.`,
    `Memory: peak of the summed PSS of each contestant's process tree, sampled every ${SAMPLE_EVERY_MS} ms (daemonised ssh ControlPersist masters are not in the tree). Own CPU: user + system time of the contestant and the descendants it waited for (\`times\`; not the daemonised ssh masters). Host CPU: the CPU time the lab hosts' own cgroups used during the sample (sshd, the scripts, systemd).`,
    '',
    `Single host, ${SINGLE_ROUNDS} interleaved rounds (medians):`,
    '',
    '| | floor (OpenSSH ControlMaster) | soar | Ansible |',
    '| --- | --- | --- | --- |',
    `| wall time (median) | ${ms(single.floor).toFixed(0)} ms | ${soar1.toFixed(0)} ms | ${ms(single.ansible).toFixed(0)} ms |`,
    `| own CPU (median) | – | ${own(single.soar).toFixed(0)} ms | ${own(single.ansible).toFixed(0)} ms |`,
    `| host CPU (median) | ${cpu(single.floor).toFixed(0)} ms | ${cpu(single.soar).toFixed(0)} ms | ${cpu(single.ansible).toFixed(0)} ms |`,
    '',
    `- soar / floor: **${(soar1 / ms(single.floor)).toFixed(2)}×** (target ≤ 1.15×)`,
    `- Ansible / soar: **${(ms(single.ansible) / soar1).toFixed(2)}×** (target ≥ 3×)`,
    '',
    `Fleets, N hosts responded to concurrently, ${FLEET_ROUNDS} interleaved rounds (N = 1 is the single-host rounds):`,
    '',
    '| N | soar wall | soar peak PSS | soar CPU | soar hosts\' CPU | Ansible wall | Ansible peak PSS | Ansible CPU | Ansible hosts\' CPU | Ansible / soar | soar N / soar 1 | soar\'s CPU bound |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...[...fleets].map(
      ([size, samples]) =>
        `| ${size} | ${ms(samples.soar).toFixed(0)} ms | ${mb(samples.soar).toFixed(0)} MB | ${own(samples.soar).toFixed(0)} ms | ${cpu(samples.soar).toFixed(0)} ms | ${ms(samples.ansible).toFixed(0)} ms | ${mb(samples.ansible).toFixed(0)} MB | ${own(samples.ansible).toFixed(0)} ms | ${cpu(samples.ansible).toFixed(0)} ms | **${(ms(samples.ansible) / ms(samples.soar)).toFixed(2)}×** | ${(ms(samples.soar) / soar1).toFixed(2)}× | ${((own(samples.soar) + cpu(samples.soar)) / cores).toFixed(0)} ms |`,
    ),
    '',
    'Targets: fleet of 20 ≤ 2× the single-host time, ≥ 5× faster than Ansible.',
    `soar, the lab hosts and Ansible share this machine's ${cores} cores: a run cannot finish before (its own CPU + its hosts' CPU) ÷ ${cores}, its CPU bound (the last column for soar). The hosts' work is the same remote lines for every contestant.`,
    '',
  ];
  return lines.join('\n');
}

await main();
