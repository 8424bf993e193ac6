import type { Playbook, Step } from './load.js';
import { routesOf, type RouteTarget } from './routes.js';

/**
 * A playbook as a Mermaid stateDiagram-v2, for docs and review: one state per step, approval gates
 * as states of their own, every edge labelled with the outcomes (or failure, denied, expired) that
 * take it. Drawn from the same routes the compiler uses, so the picture cannot drift from the run.
 */
export function renderMermaid(playbook: Playbook): string {
  const lines = ['stateDiagram-v2', `  %% ${text(playbook.id)}: ${text(playbook.title)}`];
  const gated = new Set(playbook.steps.filter((step) => step.approval !== undefined).map((step) => step.id));
  // Entering a gated step means entering its gate first.
  const entry = (target: RouteTarget): string => {
    if (target === 'end') return '[*]';
    if (target === 'aborted' || target === 'failed') return `run_${target}`;
    return gated.has(target) ? gateNode(target) : stepNode(target);
  };

  for (const step of playbook.steps) {
    lines.push(`  state "${step.id}" as ${stepNode(step.id)}`, `  ${stepNode(step.id)} : ${describe(step)}`);
    if (step.approval !== undefined) {
      const { count, roles, expiresMs } = step.approval;
      const who = roles.length === 0 ? 'any approver' : roles.map(text).join(' or ');
      lines.push(
        `  state "${step.id} approval" as ${gateNode(step.id)}`,
        `  ${gateNode(step.id)} : ${count} of ${who}, expires in ${duration(expiresMs)}`,
      );
    }
  }
  lines.push(`  [*] --> ${entry(playbook.steps[0]!.id)}`);
  const ends = new Set<RouteTarget>();
  for (const step of playbook.steps) {
    if (step.approval !== undefined) lines.push(`  ${gateNode(step.id)} --> ${stepNode(step.id)} : approved`);
    // One edge per target, labelled with every reason that takes it.
    const byTarget = new Map<RouteTarget, string[]>();
    for (const { when, to } of routesOf(step, playbook)) byTarget.set(to, [...(byTarget.get(to) ?? []), when]);
    for (const [to, reasons] of byTarget) {
      if (to === 'aborted' || to === 'failed') ends.add(to);
      const gateReasons = reasons.filter(fromGate);
      const stepReasons = reasons.filter((reason) => !fromGate(reason));
      if (gateReasons.length > 0) lines.push(`  ${gateNode(step.id)} --> ${entry(to)} : ${gateReasons.join(', ')}`);
      if (stepReasons.length > 0) lines.push(`  ${stepNode(step.id)} --> ${entry(to)} : ${stepReasons.join(', ')}`);
    }
  }
  if (ends.has('aborted')) lines.push('  state "aborted" as run_aborted', '  run_aborted --> [*]');
  if (ends.has('failed')) lines.push('  state "failed (escalating failed)" as run_failed', '  run_failed --> [*]');
  return lines.join('\n');
}

/** A denial or an expiry leaves from the approval gate, before the step ever ran. */
function fromGate(reason: string): boolean {
  return reason === 'denied' || reason === 'expired';
}

function describe(step: Step): string {
  const parts = [`action ${step.action}`, `timeout ${duration(step.timeoutMs)}`];
  if (step.retries.max > 0) {
    parts.push(`retries ${step.retries.max}, backoff ${duration(step.retries.backoffMs)} x${step.retries.factor}`);
  }
  return parts.join(', ');
}

// Mermaid ids cannot hold "-"; step ids cannot hold "_", so the prefixes keep the mapping one-to-one.
function stepNode(id: string): string {
  return `step_${id.replaceAll('-', '_')}`;
}

function gateNode(id: string): string {
  return `gate_${id.replaceAll('-', '_')}`;
}

/** Free text (title, role names) reduced to characters Mermaid cannot misread. */
function text(value: string): string {
  return value.replace(/[^A-Za-z0-9 ._,@/()+-]/g, ' ').replace(/\s+/g, ' ').trim();
}

function duration(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1_000, 's']];
  const unit = units.find(([size]) => ms >= size && ms % size === 0);
  return unit === undefined ? `${ms}ms` : `${ms / unit[0]}${unit[1]}`;
}
