import { SoarError } from '../errors.js';
import type { Playbook, Step } from './load.js';

/**
 * Where a step can send a run, in one place: the loader checks these edges (reachability, loops),
 * the compiler turns them into transitions and the renderer draws them.
 */

/** A step id, or one of the ends of a run: `end` (done), `aborted`, `failed` (escalating failed). */
export type RouteTarget = string;

export interface Route {
  /** An outcome of the step's action, `default`, or one of `failure`, `denied`, `expired`. */
  when: string;
  to: RouteTarget;
}

/** Where a step's failure (retries exhausted or not retryable) sends the run. */
export function failureTarget(step: Step, playbook: Pick<Playbook, 'escalation'>): RouteTarget {
  // Escalating is the last resort: if it fails there is no one left to tell, so the run failed.
  if (step.id === playbook.escalation) return 'failed';
  switch (step.onFailure) {
    case 'escalate':
      return escalationStep(playbook);
    case 'continue':
      return step.next.failed ?? step.next.default!;
    case 'abort':
      return 'aborted';
  }
}

/** The step that denials, expired approvals and escalated failures go to. */
export function escalationStep(playbook: Pick<Playbook, 'escalation'>): string {
  if (playbook.escalation === undefined) {
    throw new SoarError('PLAYBOOK_NO_ESCALATION', 'this playbook has no escalation step: add `escalation: <step id>` to it');
  }
  return playbook.escalation;
}

/** Every edge out of a step, outcomes first, in a stable order. */
export function routesOf(step: Step, playbook: Pick<Playbook, 'escalation'>): Route[] {
  const routes: Route[] = Object.entries(step.next)
    .filter(([when]) => when !== 'failed')
    .map(([when, to]) => ({ when, to }));
  routes.push({ when: 'failure', to: failureTarget(step, playbook) });
  if (step.approval !== undefined) {
    const to = escalationStep(playbook);
    routes.push({ when: 'denied', to }, { when: 'expired', to });
  }
  return routes;
}
