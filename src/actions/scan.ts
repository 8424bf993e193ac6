import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ActionDefinition } from './action.js';
import { StepFailedError } from './failure.js';
import { connectionsFrom } from './host-facts.js';
import { isPoolPort, MINER_PROCESS_NAMES, RULE_UNIT_NAMES } from './indicators.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

const params = z.strictObject({
  /** Run soar's YARA rules on the host when yara is installed there. */
  yara: z.boolean().default(true),
});

const yaraRules = (): string => readFileSync(new URL('./remote/miners.yar', import.meta.url), 'utf8');

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
  login_script: 'medium',
  authorized_keys_changed: 'medium',
  suspicious_process: 'medium',
  hugepages: 'low',
};

/** Findings are written as three records each (finding, path, detail): see scan.sh. */
function findingsFrom(records: Records): Finding[] {
  const findings: Finding[] = [];
  const { entries } = records;
  entries.forEach(([key, kind], index) => {
    if (key !== 'finding') return;
    const path = entries[index + 1]?.[0] === 'path' ? entries[index + 1]![1] : '';
    const detail = entries[index + 2]?.[0] === 'detail' ? entries[index + 2]![1] : '';
    // A rule-named unit that a package owns is the real agent (aliyun.service), not a finding to act on.
    const severity = kind === 'rule_unit' && detail !== '' ? 'info' : (SEVERITY[kind] ?? 'medium');
    findings.push({ kind, path, evidence: kind === 'rule_unit' && detail ? `owned by package ${detail}` : detail, severity });
  });
  for (const connection of connectionsFrom(records)) {
    if (!isPoolPort(connection.peerPort)) continue;
    const who = connection.processes.map((process) => `${process.name}[${process.pid}]`).join(', ');
    findings.push({ kind: 'pool_connection', path: connection.peer, evidence: `${who || 'unknown process'} ${connection.local} → ${connection.peer}`, severity: 'high' });
  }
  return findings;
}

export const scan: ActionDefinition<z.infer<typeof params>> = {
  name: 'scan',
  summary: 'Read-only: look for other miner units, persistence (cron, login scripts, SSH keys, ld.so.preload), miner processes, pool connections, YARA matches',
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
    if (!records.complete) throw new StepFailedError('scan output ended early', { retryable: true });
    const findings = findingsFrom(records);
    const actionable = findings.filter((finding) => finding.severity === 'high' || finding.severity === 'medium');
    const isolation = records.get('isolation');
    return {
      outcome: actionable.length > 0 ? 'findings' : 'clean',
      summary: `${actionable.length} finding(s) to act on${findings.length > actionable.length ? `, ${findings.length - actionable.length} informational` : ''}; isolation ${isolation}; yara ${records.get('yara')}`,
      changed: false,
      evidence: { findings, isolation, yara: records.get('yara') },
    };
  },
};
