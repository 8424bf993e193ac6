import type { StepResult } from '../actions/action.js';
import type { AuditRecord } from '../audit/record.js';
import type { SocCase } from '../escalation/case.js';
import type { RunContext } from '../playbook/compile.js';
import type { RunRow, RunState, Store } from '../store/store.js';

export interface RunReport {
  runId: string;
  status: RunState;
  host: string;
  unit: string;
  outcomes: RunContext['outcomes'];
  escalation: RunContext['escalation'];
  failures: RunContext['failures'];
  results: Record<string, StepResult>;
  case: SocCase | undefined;
}

/** Every step's result so far, from a run's trail: its results, and settlements that found the effect in place. */
export function stepResults(records: readonly AuditRecord[]): Map<string, StepResult> {
  const results = new Map<string, StepResult>();
  for (const record of records) {
    const data = record.data as { step: string; inPlace?: boolean } & StepResult;
    if (record.kind === 'step.result' || (record.kind === 'step.settled' && data.inPlace)) {
      results.set(data.step, { outcome: data.outcome, summary: data.summary, changed: data.changed, evidence: data.evidence });
    }
  }
  return results;
}

/** What a run did, read back from the store (its snapshot and its audit records). */
export function runReport(store: Store, runId: string): RunReport {
  const run = store.run(runId)!;
  const records = store.auditRecords(runId);
  const results = Object.fromEntries(stepResults(records));
  const built = records.findLast((record) => record.kind === 'case.built')?.data as SocCase | undefined;
  const { context } = run.snapshot;
  return {
    runId,
    status: run.status,
    host: run.host,
    unit: run.plan.target.unit,
    outcomes: context.outcomes,
    escalation: context.escalation,
    failures: context.failures,
    results,
    case: built,
  };
}

/** A run's gates waiting for a decision, each with its votes so far and the exact commands it would let run. */
export function pendingApprovals(store: Store, run: RunRow) {
  return store.approvals({ run: run.id, state: 'pending' }).map((approval) => {
    const step = run.plan.steps.find((planned) => planned.id === approval.step)!;
    return { ...approval, votes: store.votes(approval.id), summary: step.summary, commands: step.commands };
  });
}

/** The run's end as an exit status: 0 the response completed, 1 it ended escalated or failed. */
export function completed(report: RunReport): boolean {
  return report.status === 'done' && !report.escalation;
}

export function reportText(report: RunReport): string {
  const escalation = report.escalation;
  const lines = [
    `Run ${report.runId} (${report.unit} on ${report.host}): ${report.status}${escalation ? `, escalated: ${escalation.reason} at step ${escalation.step}${escalation.detail ? ` (${escalation.detail})` : ''}` : ''}`,
  ];
  for (const [step, result] of Object.entries(report.results)) lines.push(`  ${step.padEnd(10)} ${result.outcome.padEnd(15)} ${result.summary}`);
  for (const [step, failure] of Object.entries(report.failures)) if (!report.results[step]) lines.push(`  ${step.padEnd(10)} ${'failed'.padEnd(15)} ${failure.message}`);
  if (report.case) lines.push(`  case: ${report.case.title}`);
  if (report.status !== 'active' && !Object.values(report.results).some((result) => result.changed)) lines.push('  nothing on the host was changed by this run');
  return `${lines.join('\n')}\n`;
}
