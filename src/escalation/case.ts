import type { StepResult } from '../actions/action.js';
import type { Plan } from '../plan/plan.js';
import type { RunContext } from '../playbook/compile.js';

/** What the SOC receives: enough to act on without opening soar. */
export interface SocCase {
  source: 'soar';
  runId: string;
  title: string;
  severity: string;
  /** What happened, in one word: contained, false_positive, not_found, or why it stopped. */
  status: string;
  playbook: Plan['playbook'];
  alert: Plan['alert'];
  target: Plan['target'];
  verdict: string | undefined;
  escalation: RunContext['escalation'];
  steps: Array<{ id: string; action: string; outcome: string | undefined; attempts: number; summary?: string; changed?: boolean; error?: { code: string; message: string } }>;
  evidence: Record<string, unknown>;
  findings: unknown[];
}

function statusOf(context: RunContext, verdict: string | undefined): string {
  if (context.escalation) return context.escalation.reason;
  if (verdict === 'false_positive' || verdict === 'not_found') return verdict;
  if (context.outcomes.remove === 'quarantined') return 'contained';
  if (context.outcomes.release === 'released') return 'released';
  return 'partially_contained';
}

export function buildCase(plan: Plan, context: RunContext, results: ReadonlyMap<string, StepResult>, severity: string): SocCase {
  const verdict = context.outcomes.triage;
  const status = statusOf(context, verdict);
  const scan = results.get('scan')?.evidence as { findings?: unknown[] } | undefined;
  return {
    source: 'soar',
    runId: plan.runId,
    title: `${plan.target.unit} on ${plan.target.host.name}: ${verdict ?? 'not triaged'}, ${status.replace(/_/g, ' ')}`,
    severity: verdict === 'false_positive' ? 'low' : severity,
    status,
    playbook: plan.playbook,
    alert: plan.alert,
    target: plan.target,
    verdict,
    escalation: context.escalation,
    steps: plan.steps
      .filter((step) => context.attempts[step.id] !== undefined)
      .map((step) => {
        const result = results.get(step.id);
        return {
          id: step.id,
          action: step.action,
          outcome: context.outcomes[step.id],
          attempts: context.attempts[step.id] ?? 0,
          ...(result ? { summary: result.summary, changed: result.changed } : {}),
          ...(context.failures[step.id] ? { error: context.failures[step.id] } : {}),
        };
      }),
    evidence: Object.fromEntries([...results].map(([step, result]) => [step, result.evidence])),
    findings: scan?.findings ?? [],
  };
}
