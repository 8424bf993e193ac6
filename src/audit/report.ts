import { readEntry } from './entries.js';
import type { AuditRecord } from './record.js';
import { shownCommand } from './timeline.js';
import type { ChainVerdict } from './verify.js';

/** One program a step ran, as the trail recorded it. */
export interface CommandReport {
  seq: number;
  purpose: string;
  /** The command as sent, with a constant script shown by name (<triage.sh>). */
  command: string | undefined;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  outcomeUnknown: boolean;
  durationMs: number;
  startedAt: string | undefined;
  stdout: { sha256: string; cut: boolean };
  stderr: { sha256: string; cut: boolean };
}

export interface StepReport {
  id: string;
  action: string | undefined;
  attempts: number;
  outcome: string | undefined;
  summary: string | undefined;
  changed: boolean | undefined;
  evidence: Record<string, unknown> | undefined;
  failures: Array<{ seq: number; code: string; message: string; retryable: boolean }>;
  unknown: string[];
  commands: CommandReport[];
}

export interface ApprovalReport {
  step: string;
  stepHash: string;
  requestedAt: string;
  expiresAt: string;
  count: number;
  roles: string[];
  /** `refused`: a decision the desk would not count (not an eligible approver, a stale step hash). */
  decisions: Array<{ decision: 'granted' | 'denied' | 'expired' | 'refused'; by: string; at: string; reason: string | undefined }>;
}

/** What the whole trail's verification says, as it concerns this run. */
export interface ChainReport {
  verdict: ChainVerdict;
  /** The run of the first bad record, when the record is still there to tell. */
  failureRun: string | undefined;
  /** Whether the first bad record is one of this run's (undefined: it is gone, nobody can tell). */
  failureInRun: boolean | undefined;
  keyed: boolean;
}

/** A run as its audit records tell it: what a post-incident reviewer reads. */
export interface AuditReport {
  run: string;
  generatedAt: string;
  alert: { id: string; index: string | undefined; timestamp: string; rule: { ruleId?: string; name?: string } | undefined } | undefined;
  target: { unit: string; host: string; pathHint: string | undefined } | undefined;
  connection: { address: string; port: number; user: string } | undefined;
  playbook: { id: string; title: string } | undefined;
  plan: string | undefined;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  /** `unfinished` when no run.finished record exists (still running, crashed, or cut). */
  status: string;
  verdict: string | undefined;
  escalation: { reason: string; step: string; detail?: string } | undefined;
  case: { title: string; severity: string; status: string } | undefined;
  approvals: ApprovalReport[];
  steps: StepReport[];
  findings: unknown[];
  refused: Array<{ code: string; message: string }>;
  /** Each time another process took the run (or, with host, its host's lease) over from one that had stopped (crashed, stalled). */
  takeovers: Array<{ at: string; from: { hostname: string; pid: number }; why: string; host?: string }>;
  /** Records of kinds this soar does not know, or of an unexpected shape. */
  unrecognised: number;
  chain: ChainReport;
  recordSpan: { count: number; first: { seq: number; hash: string } | undefined; last: { seq: number; hash: string } | undefined };
}

/** Builds a run's report from its records (in chain order) and the verification of the whole trail. */
export function buildAuditReport(run: string, records: readonly AuditRecord[], chain: ChainReport, now: Date): AuditReport {
  const report: AuditReport = {
    run,
    generatedAt: now.toISOString(),
    alert: undefined,
    target: undefined,
    connection: undefined,
    playbook: undefined,
    plan: undefined,
    startedAt: records[0]?.time,
    finishedAt: undefined,
    status: 'unfinished',
    verdict: undefined,
    escalation: undefined,
    case: undefined,
    approvals: [],
    steps: [],
    findings: [],
    refused: [],
    takeovers: [],
    unrecognised: 0,
    chain,
    recordSpan: { count: records.length, first: records[0] && pick(records[0]), last: records.at(-1) && pick(records.at(-1)!) },
  };
  const stepOf = (id: string): StepReport => {
    let step = report.steps.find((candidate) => candidate.id === id);
    if (!step) {
      step = { id, action: undefined, attempts: 0, outcome: undefined, summary: undefined, changed: undefined, evidence: undefined, failures: [], unknown: [], commands: [] };
      report.steps.push(step);
    }
    return step;
  };
  const achieved = (id: string, result: { outcome: string; summary?: string; changed?: boolean; evidence?: Record<string, unknown> }) => {
    Object.assign(stepOf(id), { outcome: result.outcome, summary: result.summary, changed: result.changed, evidence: result.evidence });
    if (id === 'triage') report.verdict = result.outcome;
    const findings = result.evidence?.findings;
    if (id === 'scan' && Array.isArray(findings)) report.findings = findings;
  };
  const sent = new Map<string, string>();
  for (const record of records) {
    const entry = readEntry(record);
    switch (entry.kind) {
      case 'run.started': {
        const { alert, target, host, playbook, plan } = entry.data;
        report.alert = { id: alert.id, index: alert.index, timestamp: alert.timestamp, rule: alert.rule };
        report.target = { unit: target.unit, host: target.host.name, pathHint: target.pathHint };
        report.connection = host;
        report.playbook = { id: playbook.id, title: playbook.title };
        report.plan = plan;
        report.startedAt = entry.time;
        break;
      }
      case 'step.started': {
        const step = stepOf(entry.data.step);
        step.action = entry.data.action;
        step.attempts = Math.max(step.attempts, entry.data.attempt);
        break;
      }
      case 'command.sent':
        sent.set(`${entry.data.step}\n${entry.data.purpose}`, shownCommand(entry.data.argv));
        break;
      case 'command.returned': {
        const { result, step, purpose } = entry.data;
        const key = `${step}\n${purpose}`;
        stepOf(step).commands.push({
          seq: entry.seq,
          purpose,
          command: sent.get(key),
          exitCode: result.exitCode,
          signal: result.signal,
          timedOut: result.timedOut,
          outcomeUnknown: result.outcomeUnknown,
          durationMs: result.durationMs,
          startedAt: result.startedAt,
          stdout: { sha256: result.stdout.sha256, cut: result.stdout.cut },
          stderr: { sha256: result.stderr.sha256, cut: result.stderr.cut },
        });
        sent.delete(key);
        break;
      }
      case 'step.result':
        achieved(entry.data.step, entry.data);
        break;
      case 'step.failed':
        stepOf(entry.data.step).failures.push({ seq: entry.seq, code: entry.data.code, message: entry.data.message, retryable: entry.data.retryable });
        break;
      case 'step.unknown':
        stepOf(entry.data.step).unknown.push(entry.data.message);
        break;
      case 'approval.requested': {
        const { step, stepHash, expiresAt, count, roles } = entry.data;
        report.approvals.push({ step, stepHash, requestedAt: entry.time, expiresAt, count, roles, decisions: [] });
        break;
      }
      case 'approval.granted':
      case 'approval.denied':
      case 'approval.expired':
      case 'approval.refused': {
        const decision = DECISIONS[entry.kind];
        const reason = entry.kind === 'approval.expired' ? undefined : entry.kind === 'approval.refused' ? entry.data.why : entry.data.reason;
        const request = report.approvals.findLast((approval) => approval.step === entry.data.step);
        request?.decisions.push({ decision, by: entry.actor, at: entry.time, reason });
        break;
      }
      case 'case.built':
        report.case = { title: entry.data.title, severity: entry.data.severity, status: entry.data.status };
        if (entry.data.findings) report.findings = entry.data.findings;
        break;
      case 'run.finished':
        report.status = entry.data.status;
        report.escalation = entry.data.escalation;
        report.finishedAt = entry.time;
        break;
      case 'run.taken_over':
      case 'host.taken_over':
        report.takeovers.push({ at: entry.time, from: entry.data.from, why: entry.data.why, ...(entry.kind === 'host.taken_over' ? { host: entry.data.host } : {}) });
        break;
      case 'input.refused':
        report.refused.push({ code: entry.data.code, message: entry.data.message });
        break;
      case 'other':
        report.unrecognised += 1;
        break;
      case 'step.settled': {
        const { step, inPlace, outcome } = entry.data;
        // A step settled as in place after a crash or a lost link has its result here, not in a step.result.
        if (inPlace && outcome !== undefined) achieved(step, { ...entry.data, outcome });
        break;
      }
      case 'retry.scheduled':
      case 'transition':
      case 'run.held':
        break;
    }
  }
  return report;
}

const DECISIONS = { 'approval.granted': 'granted', 'approval.denied': 'denied', 'approval.expired': 'expired', 'approval.refused': 'refused' } as const;

const pick = (record: AuditRecord) => ({ seq: record.seq, hash: record.hash });
