import { z } from 'zod';
import type { ActionDefinition, StepResult } from './action.js';
import type { Config } from '../config/config.js';
import { StepFailedError } from './failure.js';
import { connectionsFrom, filesFrom, processesFrom, type FileFacts } from './host-facts.js';
import { isPoolPort, MINER_PROCESS_NAMES, POOL_DOMAINS, SUSPICIOUS_BINARY_DIRS } from './indicators.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

/**
 * Triage's verdict:
 * - false_positive: the unit file comes unmodified from a package, or the allow-list names this
 *   unit with this binary and this hash. Nothing destructive follows.
 * - malicious: the unit shows a miner's marks (strings, pool config, pool connections, a miner's
 *   process name, a binary in a home or temp directory).
 * - not_found: systemd does not know the unit and none of its files or processes are there.
 * - suspicious: anything else. The playbook treats it like malicious, behind the same gates.
 */
function verdict(records: Records, config: Config, unit: string): StepResult {
  const loadState = records.get('systemd.LoadState') ?? '';
  const fragment = filesFrom(records, 'fragment')[0];
  const hint = filesFrom(records, 'hint')[0];
  const wants = filesFrom(records, 'wants');
  const binary = filesFrom(records, 'binary')[0];
  const processes = processesFrom(records);
  const unitPids = new Set(processes.map((process) => process.pid));
  const poolConnections = connectionsFrom(records).filter(
    (connection) => isPoolPort(connection.peerPort) && connection.processes.some((process) => unitPids.has(process.pid)),
  );
  const pools = records.all('config.pool');
  const minerStrings = (records.get('binary.miner_strings') ?? '').trim();
  const evidence = {
    unit,
    loadState,
    activeState: records.get('systemd.ActiveState'),
    unitFileState: records.get('systemd.UnitFileState'),
    execStart: records.get('systemd.ExecStart'),
    fragment,
    hint,
    wants,
    binary,
    pools,
    minerStrings: minerStrings ? minerStrings.split(' ') : [],
    processes,
    poolConnections,
    writerAlive: records.get('writer.alive') === '1',
    writer: records.get('writer.alive') === '1' ? { exe: records.get('writer.exe'), cmdline: records.get('writer.cmdline') } : undefined,
  };
  const result = (outcome: string, summary: string): StepResult => ({ outcome, summary, changed: false, evidence: { ...evidence, reasons: summary } });

  const packaged = (file: FileFacts | undefined): boolean => Boolean(file?.exists && file.package && !file.packageModified);
  if (packaged(fragment) && (binary === undefined || packaged(binary))) {
    return result('false_positive', `${fragment!.path} is shipped unmodified by package ${fragment!.package}`);
  }
  const allowed = config.allowlist.find(
    (entry) => entry.unit === unit && binary !== undefined && entry.binary === binary.path && entry.sha256 === binary.sha256,
  );
  if (allowed) return result('false_positive', `allow-listed: ${allowed.reason} (${allowed.binary}, sha256 ${allowed.sha256})`);

  const marks: string[] = [];
  if (evidence.minerStrings.length > 0) marks.push(`binary contains ${evidence.minerStrings.join(', ')}`);
  const poolConfig = pools.filter((pool) => /stratum\+|:\d{4,5}"$/.test(pool) || POOL_DOMAINS.some((domain) => pool.includes(domain)));
  if (poolConfig.length > 0) marks.push(`config names pool ${poolConfig.join(', ')}`);
  if (poolConnections.length > 0) marks.push(`connected to ${poolConnections.map((connection) => connection.peer).join(', ')}`);
  const miners = processes.filter((process) => (MINER_PROCESS_NAMES as readonly string[]).includes(process.comm ?? ''));
  if (miners.length > 0) marks.push(`miner process ${miners.map((process) => `${process.comm}[${process.pid}]`).join(', ')}`);
  if (binary && SUSPICIOUS_BINARY_DIRS.some((dir) => binary.path.startsWith(dir))) marks.push(`binary in ${binary.path}`);
  if (marks.length > 0) return result('malicious', marks.join('; '));

  const anything = [fragment, hint, ...wants].some((file) => file?.exists) || processes.length > 0;
  if (loadState === 'not-found' && !anything) return result('not_found', `systemd does not know ${unit} and none of its files or processes are on the host`);
  return result('suspicious', `${unit} is ${loadState || 'unknown'} with no miner marks found; treat as hostile until an analyst decides`);
}

export const triage: ActionDefinition<Record<string, never>> = {
  name: 'triage',
  summary: 'Read-only: resolve the unit on the host, hash its files, check package ownership, list its processes and connections',
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
    if (!run?.records.complete) throw new StepFailedError('triage output ended early', { retryable: true });
    return verdict(run.records, config, target.unit);
  },
};
