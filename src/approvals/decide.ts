import type { Config } from '../config/config.js';
import type { Runtime } from '../engine/runtime.js';
import { faultPoint } from '../engine/fault.js';
import { ApprovalRefusedError, checkApprover } from './approval.js';

export interface Decision {
  run: string;
  step: string;
  analyst: string;
  decision: 'approve' | 'deny';
  reason: string;
  /** The step hash the analyst saw: a decision about other commands than the plan's is void. */
  stepHash: string;
}

/**
 * Records an analyst's decision on a gate, durably: checked (request exists and is pending, not
 * expired, analyst eligible, same step hash, nobody twice), voted, and when the gate's count is
 * reached (or on any denial) the machine moves on, all in one transaction. A refused decision is
 * audited too, then reported.
 */
export function recordDecision(runtime: Runtime, config: Config, decision: Decision, now = new Date()): 'approved' | 'denied' | 'counted' {
  const store = runtime.store;
  try {
    const outcome = runtime.transaction(() => {
      const run = runtime.run(decision.run);
      const approval = store.approval(decision.run, decision.step);
      if (!approval) throw new ApprovalRefusedError(`run ${decision.run} has no approval request for step ${decision.step} (yet): see soar status ${decision.run}`);
      if (approval.state !== 'pending') throw new ApprovalRefusedError(`step ${decision.step} of run ${decision.run} is already ${approval.state}: this decision comes too late or twice`);
      if (now.getTime() > Date.parse(approval.expiresAt)) throw new ApprovalRefusedError(`the approval request for step ${decision.step} expired at ${approval.expiresAt}`);
      const step = run.plan.steps.find((planned) => planned.id === decision.step)!;
      checkApprover(config, { roles: approval.roles, step }, decision.analyst);
      if (decision.stepHash !== approval.stepHash) {
        throw new ApprovalRefusedError(`the decision names step hash ${decision.stepHash.slice(0, 12)}…, but step ${decision.step} will run ${approval.stepHash.slice(0, 12)}…: the plan changed or the hash is wrong; review it again (soar status ${decision.run})`);
      }
      const votes = store.votes(approval.id);
      if (votes.some((vote) => vote.analyst === decision.analyst)) {
        throw new ApprovalRefusedError(`${decision.analyst} has already decided on step ${decision.step}: one person counts once`);
      }
      store.addVote(approval.id, { analyst: decision.analyst, decision: decision.decision, reason: decision.reason, stepHash: decision.stepHash });
      runtime.audit(decision.run, decision.decision === 'approve' ? 'approval.granted' : 'approval.denied', { step: decision.step, stepHash: decision.stepHash, reason: decision.reason }, decision.analyst);
      if (decision.decision === 'deny') {
        store.setApprovalState(approval.id, 'denied');
        store.closeDeadlines(decision.run, decision.step, 'APPROVAL.EXPIRED');
        runtime.applyEvent(decision.run, { type: 'DENY', step: decision.step, reason: `${decision.analyst}: ${decision.reason}` });
        return 'denied' as const;
      }
      if (votes.filter((vote) => vote.decision === 'approve').length + 1 < approval.count) return 'counted' as const;
      store.setApprovalState(approval.id, 'approved');
      store.closeDeadlines(decision.run, decision.step, 'APPROVAL.EXPIRED');
      runtime.applyEvent(decision.run, { type: 'APPROVE', step: decision.step });
      return 'approved' as const;
    });
    faultPoint(decision.decision === 'approve' ? 'approval.granted' : 'approval.denied');
    return outcome;
  } catch (error) {
    if (error instanceof ApprovalRefusedError && store.run(decision.run)) {
      store.transaction(() => runtime.audit(decision.run, 'approval.refused', { ...decision, why: error.message }, decision.analyst));
    }
    throw error;
  }
}
