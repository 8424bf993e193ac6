import { readFileSync } from 'node:fs';
import * as z from 'zod';
import type { ActionDefinition } from './action.js';
import { StepFailedError } from './failure.js';
import { connectionsFrom, type ConnectionFacts } from './host-facts.js';
import { isPoolPort, MINER_PROCESS_NAMES, RULE_UNIT_NAMES } from './indicators.js';
import { Records } from './records.js';
import { hostScript } from './script.js';
import { remoteFile } from '../paths.js';

const params = z.strictObject({
  /** Run soar's YARA rules on the host when yara is installed there. */
  yara: z.boolean().default(true),
});

let rules: string | undefined;
/** soar's YARA rules, read once: every scan's plan carries them. */
const yaraRules = (): string => (rules ??= readFileSync(remoteFile('miners.yar'), 'utf8'));

export type Severity = 'info' | 'low' | 'medium' | 'high';

export interface Finding {
  kind: string;
  path: string;
  evidence: string;
  severity: Severity;
}

const SEVERITY: Record<string, Severity> = {
  rule_unit: 'high',
  exec_in_writable_dir: 'high',
  cron: 'high',
  ld_preload: 'high',
  miner_process: 'high',
  yara: 'high',
  pool_connection: 'high',
  pool_connection_attempt: 'high',
  isolation_altered: 'high',
  login_script: 'medium',
  authorized_keys_changed: 'medium',
  suspicious_process: 'medium',
  // The inode changed after the alert but the content's mtime is older: a chmod, or a backdated file.
  authorized_keys_touched: 'low',
  hugepages: 'low',
};

/** Findings written by scan.sh, three records each (finding, path, detail). */
function scriptFindings(records: Records): Finding[] {
  const findings: Finding[] = [];
  const { entries } = records;
  entries.forEach(([key, kind], index) => {
    if (key !== 'finding') return;
    const path = entries[index + 1]?.[0] === 'path' ? entries[index + 1]![1] : '';
    const detail = entries[index + 2]?.[0] === 'detail' ? entries[index + 2]![1] : '';
    // A rule-named unit that a package owns is the real agent (aliyun.service), not a finding to act on.
    if (kind === 'rule_unit' && detail !== '') {
      findings.push({ kind, path, evidence: `owned by package ${detail}`, severity: 'info' });
      return;
    }
    findings.push({ kind, path, evidence: detail, severity: SEVERITY[kind] ?? 'medium' });
  });
  return findings;
}

const MINER_NAMES: ReadonlySet<string> = new Set(MINER_PROCESS_NAMES);

/** Port 80 is a pool port (C3Pool) and the web's: there it takes a miner-named process to count. */
function toPool(connection: ConnectionFacts): boolean {
  if (!isPoolPort(connection.peerPort)) return false;
  return connection.peerPort !== 80 || connection.processes.some((process) => MINER_NAMES.has(process.name));
}

/** Connections still in SYN-SENT (`attempt` records, same columns as `conn`), read as host-facts reads `conn`. */
function attemptsFrom(records: Records): ConnectionFacts[] {
  return connectionsFrom(new Records(records.all('attempt').map((line) => `conn=${line}\0`).join('')));
}

function poolFindings(records: Records): Finding[] {
  const finding = (kind: string, connection: ConnectionFacts): Finding => {
    const who = connection.processes.map((process) => `${process.name}[${process.pid}]`).join(', ') || 'unknown process';
    return { kind, path: connection.peer, evidence: `${who} ${connection.local} → ${connection.peer}`, severity: SEVERITY[kind]! };
  };
  return [
    ...connectionsFrom(records).filter(toPool).map((connection) => finding('pool_connection', connection)),
    ...attemptsFrom(records).filter(toPool).map((connection) => finding('pool_connection_attempt', connection)),
  ];
}

export const scan: ActionDefinition<z.infer<typeof params>> = {
  name: 'scan',
  summary: 'Read-only: look for other miner units, persistence (cron, login scripts, SSH keys, ld.so.preload, hugepages), miner processes, pool connections, YARA matches, and whether isolation holds',
  destructive: false,
  params,
  outcomes: ['clean', 'findings'],
  plan(stepParams, { alertTime, timeoutMs }) {
    const since = String(Math.floor(Date.parse(alertTime) / 1000));
    const command = hostScript('scan', [since, RULE_UNIT_NAMES.join(','), MINER_PROCESS_NAMES.join(',')], timeoutMs);
    return [
      {
        purpose: `scan for what else the attacker left${stepParams.yara ? ', with YARA rules on stdin' : ''} (changes nothing)`,
        where: 'host',
        command: stepParams.yara ? { ...command, stdin: yaraRules() } : command,
      },
    ];
  },
  interpret(_params, [run]) {
    const records = run!.records;
    if (!records.complete) throw new StepFailedError('scan output ended early; run the step again', { retryable: true });
    const isolation = records.get('isolation') ?? 'unknown';
    const findings = [...scriptFindings(records), ...poolFindings(records)];
    if (isolation === 'altered') {
      findings.push({ kind: 'isolation_altered', path: 'nft table inet soar_isolation', evidence: 'the isolation table differs from the one soar applied', severity: 'high' });
    }
    const actionable = findings.filter((finding) => finding.severity === 'high' || finding.severity === 'medium');
    const yara = records.get('yara') ?? 'unknown';
    const yaraError = records.get('yara_error');
    return {
      outcome: actionable.length > 0 ? 'findings' : 'clean',
      summary:
        `${actionable.length} finding(s) to act on` +
        `${findings.length > actionable.length ? `, ${findings.length - actionable.length} minor` : ''}` +
        `; isolation ${isolation}; yara ${yara}${yaraError ? ` (${yaraError.split('\n')[0]})` : ''}`,
      changed: false,
      evidence: { findings, isolation, yara, ...(yaraError ? { yaraError } : {}) },
    };
  },
};
