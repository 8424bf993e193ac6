import * as z from 'zod';
import type { ActionDefinition, StepResult } from './action.js';
import type { Config } from '../config/config.js';
import { StepFailedError } from './failure.js';
import { connectionsFrom, filesFrom, isPackaged, processesFrom, programsLeftAlone, type FileFacts } from './host-facts.js';
import { isPoolPort, MINER_PROCESS_NAMES, POOL_DOMAINS, SUSPICIOUS_BINARY_DIRS } from './indicators.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

/** A pool URL in an xmrig-style config: a stratum scheme, a known pool domain, or a host:port. */
const POOL_URL = /stratum\+|:\d{2,5}"$/;

/** Everything triage read on the host, shaped for the analyst and the audit trail. */
function factsFrom(records: Records, unit: string) {
  const processes = processesFrom(records);
  const unitPids = new Set(processes.map((process) => process.pid));
  const poolConnections = connectionsFrom(records).filter(
    (connection) => isPoolPort(connection.peerPort) && connection.processes.some((process) => unitPids.has(process.pid)),
  );
  const mainPid = Number(records.get('systemd.MainPID') ?? '0');
  return {
    unit,
    systemd: {
      loadState: records.get('systemd.LoadState') ?? '',
      activeState: records.get('systemd.ActiveState'),
      subState: records.get('systemd.SubState'),
      unitFileState: records.get('systemd.UnitFileState'),
      execStart: records.get('systemd.ExecStart'),
      mainPid: mainPid > 0 ? mainPid : undefined,
      controlGroup: records.get('systemd.ControlGroup') || undefined,
      restarts: Number(records.get('systemd.NRestarts') ?? '0'),
    },
    fragment: filesFrom(records, 'fragment')[0],
    hint: filesFrom(records, 'hint')[0],
    dropins: filesFrom(records, 'dropin'),
    wants: filesFrom(records, 'wants'),
    copies: filesFrom(records, 'copy'),
    binaries: filesFrom(records, 'binary'),
    // What kill and remove will leave alone, for the analyst at their gates.
    ...programsLeftAlone(records),
    configs: records.all('config.path'),
    pools: records.all('config.pool'),
    processes,
    poolConnections,
    writer:
      records.get('writer.alive') === '1'
        ? { alive: true, exe: records.get('writer.exe'), cmdline: records.get('writer.cmdline')?.trimEnd() }
        : { alive: false },
  };
}

type TriageFacts = ReturnType<typeof factsFrom>;

/** What makes a miner a miner, whoever installed it: these override a package's word. */
function minerMarks(facts: TriageFacts): string[] {
  const marks: string[] = [];
  for (const binary of facts.binaries) {
    if (binary.minerStrings.length > 0) marks.push(`${binary.path} contains ${binary.minerStrings.join(', ')}`);
  }
  const pools = [...new Set(facts.pools.filter((pool) => POOL_URL.test(pool) || POOL_DOMAINS.some((domain) => pool.includes(domain))))];
  if (pools.length > 0) marks.push(`config names pool ${pools.join(', ')}`);
  const miners = facts.processes.filter((process) => (MINER_PROCESS_NAMES as readonly string[]).includes(process.comm ?? ''));
  if (miners.length > 0) marks.push(`miner process ${miners.map((process) => `${process.comm}[${process.pid}]`).join(', ')}`);
  return marks;
}

/**
 * Why the unit is known good, or undefined. Every file that defines it and every program it runs
 * must vouch for it: shipped unmodified by a package, or allow-listed by unit, path and hash. A
 * drop-in, a stray copy or a program outside those is how a miner hides behind a good name.
 */
function knownGood(facts: TriageFacts, config: Config): string | undefined {
  const { fragment, unit } = facts;
  if (!fragment?.exists) return undefined;
  const allowed = (binary: FileFacts) =>
    config.allowlist.find((entry) => entry.unit === unit && entry.binary === binary.path && entry.sha256 === binary.sha256);
  const allowedBinaries = facts.binaries.flatMap((binary) => allowed(binary) ?? []);
  if (!isPackaged(fragment) && allowedBinaries.length === 0) return undefined;
  if (!facts.dropins.every(isPackaged)) return undefined;
  if (!facts.binaries.every((binary) => isPackaged(binary) || allowed(binary))) return undefined;
  if (![facts.hint, ...facts.copies].every((file) => file === undefined || !file.exists || isPackaged(file))) return undefined;
  // `systemctl enable` makes links; a regular file in a .wants directory is an installer's doing.
  if (!facts.wants.every((entry) => entry.linkTarget !== undefined)) return undefined;
  const vouchers = [
    ...(isPackaged(fragment) ? [`${fragment.path} ships unmodified in package ${fragment.package}`] : []),
    ...allowedBinaries.map((entry) => `allow-listed: ${entry.reason} (${entry.binary}, sha256 ${entry.sha256})`),
    ...facts.binaries.filter(isPackaged).map((binary) => `${binary.path} ships unmodified in package ${binary.package}`),
  ];
  return vouchers.join('; ');
}

/** Signs that fall short of a miner's marks but that no packaged service shows. */
function oddities(facts: TriageFacts): string[] {
  const odd: string[] = [];
  for (const binary of facts.binaries) {
    if (SUSPICIOUS_BINARY_DIRS.some((dir) => binary.path.startsWith(dir))) odd.push(`program in ${binary.path}`);
    else if (!isPackaged(binary)) odd.push(`program ${binary.path} is ${binary.package ? `modified from package ${binary.package}` : 'not from any package'}`);
  }
  const stray = [facts.hint, ...facts.copies].filter((file) => file?.exists && !isPackaged(file));
  if (stray.length > 0) odd.push(`copies outside packages: ${stray.map((file) => file!.path).join(', ')}`);
  return odd;
}

/** A pool connection: a miner's mark, except for a vouched-for agent (C3Pool also uses port 80). */
function poolConnectionMarks(facts: TriageFacts): string[] {
  const peers = facts.poolConnections.map((connection) => `${connection.peer} (${connection.processes.map((process) => `${process.name}[${process.pid}]`).join(', ')})`);
  return peers.length > 0 ? [`connected to pool port(s): ${peers.join(', ')}`] : [];
}

/**
 * Triage's verdict:
 * - malicious: a miner's marks (miner strings in a program, a pool in its config, a miner's
 *   process name, a connection to a pool port) and nothing vouches for the unit.
 * - false_positive: packages or the allow-list vouch for every file and program of the unit, and
 *   it shows no miner's marks. Nothing destructive follows.
 * - not_found: systemd does not know the unit and none of its files or processes are there.
 * - suspicious: anything else, including a packaged unit that mines. The playbook treats it like
 *   malicious, behind the same approval gates.
 */
function verdict(facts: TriageFacts, config: Config): StepResult {
  // Said with every verdict, so that the analyst at kill's and remove's gates knows.
  const leftAlone = [
    facts.unverifiedPrograms && `; no package database on the host: kill and remove leave ${facts.unverifiedPrograms.join(', ')} alone`,
    facts.unownedPrograms && `; kill and remove leave ${facts.unownedPrograms.join(', ')} alone: no package owns it, but it sits among the system's programs and carries no miner signature (an interpreter others may run too)`,
  ].filter(Boolean).join('');
  const result = (outcome: string, why: string): StepResult => {
    const reasons = `${why}${leftAlone}`;
    return { outcome, summary: reasons, changed: false, evidence: { ...facts, reasons } };
  };
  const marks = minerMarks(facts);
  const vouched = knownGood(facts, config);
  if (vouched !== undefined) {
    if (marks.length === 0) return result('false_positive', vouched);
    return result('suspicious', `${vouched}, yet it shows a miner's marks: ${marks.join('; ')}`);
  }
  const odd = oddities(facts);
  const allMarks = [...marks, ...poolConnectionMarks(facts)];
  if (allMarks.length > 0) return result('malicious', [...allMarks, ...odd].join('; '));

  const present = [facts.fragment, facts.hint, ...facts.dropins, ...facts.wants, ...facts.copies].some((file) => file?.exists);
  if (facts.systemd.loadState === 'not-found' && !present && facts.processes.length === 0) {
    return result('not_found', `systemd does not know ${facts.unit} and none of its files or processes are on the host`);
  }
  const why = odd.length > 0 ? odd.join('; ') : 'no package or allow-list entry vouches for it';
  return result('suspicious', `${facts.unit} is ${facts.systemd.loadState || 'unknown'} without a miner's marks, but ${why}; an analyst decides`);
}

export const triage: ActionDefinition<Record<string, never>> = {
  name: 'triage',
  summary: 'Read-only: resolve the unit on the host, hash its files and programs, check package ownership, list its processes and connections',
  destructive: false,
  params: z.strictObject({}),
  outcomes: ['malicious', 'suspicious', 'false_positive', 'not_found'],
  plan(_params, { target, timeoutMs }) {
    return [
      {
        purpose: 'collect the unit, its files, package ownership, processes and connections (changes nothing)',
        where: 'host',
        command: hostScript('triage', [target.unit, target.pathHint ?? '', String(target.writer?.pid ?? '')], timeoutMs),
      },
    ];
  },
  interpret(_params, [run], { target, config }) {
    if (!run?.records.complete) throw new StepFailedError('triage output ended early: run the step again', { retryable: true });
    return verdict(factsFrom(run.records, target.unit), config);
  },
};
