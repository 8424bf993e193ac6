import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, execaSync, ExecaError } from 'execa';
import * as z from 'zod';
import { SoarError } from '../../src/errors.js';

/**
 * The lab for tests, benchmarks and the demo: real Debian hosts booted by test/lab/lab.sh
 * (systemd-nspawn on overlays, one network namespace each), a pool and an outsider namespace.
 */

export const LAB_SCRIPT = fileURLToPath(new URL('./lab.sh', import.meta.url));
export const MINER_UNITS = ['c3pool_miner.service', 'moneroocean_miner.service'] as const;
export type MinerUnit = (typeof MINER_UNITS)[number];

/** lab.sh exec's status when it could not enter the host at all (not the program's own status). */
const EXEC_COULD_NOT_ENTER = 125;

export interface LabHost { name: string; address: string; managementAddress: string; netns: string; index: number }

export interface PoolEvent { t: number; event: 'open' | 'close'; peer: string }

export interface Lab {
  dir: string;
  configPath: string;
  knownHostsPath: string;
  identityFile: string;
  hosts: LabHost[];
  pool: { netns: string; address: string; ports: number[]; logPath: string };
  outsider: { netns: string; address: string };
  /** How long each phase of `up` took, in milliseconds (cache, network, hosts, boot, total). */
  timingsMs: Record<string, number>;
  /** Runs argv inside the host without SSH; resolves with exitCode/stdout/stderr (never throws on non-zero). */
  exec(host: string, argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  infect(host: string, unit: MinerUnit, options?: { staging?: boolean; immutable?: boolean }): Promise<void>;
  /** Pool events read from pool.log. */
  poolEvents(): Promise<PoolEvent[]>;
  down(): Promise<void>;
}

/** The lab could not be set up, entered or torn down; the message says where to look. */
export class LabError extends SoarError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('LAB_FAILED', message, options);
  }
}

const labHost = z.strictObject({
  name: z.string(),
  address: z.string(),
  managementAddress: z.string(),
  netns: z.string(),
  index: z.number().int(),
});

const labFile = z.object({
  lab: z.number().int(),
  dir: z.string(),
  configPath: z.string(),
  knownHostsPath: z.string(),
  identityFile: z.string(),
  hosts: z.array(labHost),
  pool: z.strictObject({ netns: z.string(), address: z.string(), ports: z.array(z.number().int()), logPath: z.string() }),
  outsider: z.strictObject({ netns: z.string(), address: z.string() }),
  timingsMs: z.record(z.string(), z.number()),
});

const poolEvent = z.strictObject({ t: z.number(), event: z.enum(['open', 'close']), peer: z.string() });

/**
 * Boots `hosts` hosts as lab `lab` (0..63; labs with different ids coexist) and resolves once every
 * host's sshd answers with its pinned key. Without `dir`, a temporary directory is made and removed by down().
 */
export async function startLab(options: { hosts: number; lab?: number; dir?: string }): Promise<Lab> {
  const lab = options.lab ?? 0;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), `soar-lab${lab}-`)));

  const downArgs = ['down', '--dir', dir, '--lab', String(lab)];
  // A script that throws or exits before down() still leaves no hosts running behind it.
  const downOnExit = (): void => {
    execaSync(LAB_SCRIPT, downArgs, { stdio: 'ignore', reject: false });
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  const down = async (): Promise<void> => {
    process.off('exit', downOnExit);
    await runLabScript(downArgs, `tearing down lab ${lab}`);
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    await runLabScript(['up', '--dir', dir, '--hosts', String(options.hosts), '--lab', String(lab)], `booting lab ${lab}`);
    process.once('exit', downOnExit);
    const file = labFile.parse(JSON.parse(await readFile(join(dir, 'lab.json'), 'utf8')));
    return {
      dir,
      configPath: file.configPath,
      knownHostsPath: file.knownHostsPath,
      identityFile: file.identityFile,
      hosts: file.hosts,
      pool: file.pool,
      outsider: file.outsider,
      timingsMs: file.timingsMs,
      exec: (host, argv) => execInHost(dir, host, argv),
      infect: async (host, unit, infectOptions = {}) => {
        const flags = [...(infectOptions.staging ? ['--staging'] : []), ...(infectOptions.immutable ? ['--immutable'] : [])];
        await runLabScript(['infect', '--dir', dir, host, unit, ...flags], `infecting ${host} with ${unit}`);
      },
      poolEvents: () => readPoolEvents(file.pool.logPath),
      down,
    };
  } catch (error) {
    // A half-booted lab must not outlive the failure: lab.sh up cleans up after itself, this covers a bad lab.json.
    await down().catch(() => undefined);
    throw error instanceof LabError ? error : new LabError(`lab ${lab} in ${dir} is unusable: ${String(error)}`, { cause: error });
  }
}

async function runLabScript(args: string[], what: string): Promise<void> {
  try {
    await execa(LAB_SCRIPT, args, { stdin: 'ignore', stdout: 'ignore', stderr: ['pipe', 'inherit'] });
  } catch (error) {
    const stderr = error instanceof ExecaError ? String(error.stderr ?? '').trim().split('\n').slice(-5).join('\n') : '';
    throw new LabError(`${what} failed (test/lab/lab.sh ${args[0]}): ${stderr || String(error)}`, { cause: error });
  }
}

async function execInHost(dir: string, host: string, argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const result = await execa(LAB_SCRIPT, ['exec', '--dir', dir, host, '--', ...argv], {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
  });
  // nsenter re-raises the signal that killed the program: report it as a shell would (128 + n).
  const signalled = result.signal === undefined ? undefined : 128 + constants.signals[result.signal];
  const exitCode = result.exitCode ?? signalled;
  if (exitCode === undefined || exitCode === EXEC_COULD_NOT_ENTER) {
    throw new LabError(`cannot run ${argv[0] ?? 'a program'} inside ${host}: ${result.stderr.trim() || result.message}`);
  }
  return { exitCode, stdout: result.stdout, stderr: result.stderr };
}

async function readPoolEvents(logPath: string): Promise<PoolEvent[]> {
  const text = await readFile(logPath, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => poolEvent.parse(JSON.parse(line)));
}
