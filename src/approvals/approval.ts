import type { Config } from '../config/config.js';
import { SoarError } from '../errors.js';
import type { PlannedStep } from '../plan/plan.js';

/** A gate asks for this: who may approve which exact step, until when. */
export interface ApprovalRequest {
  runId: string;
  step: PlannedStep;
  /** The step's hash: a decision is about these exact commands and nothing else. */
  stepHash: string;
  count: number;
  roles: string[];
  expiresAt: Date;
}

export interface ApprovalVote {
  analyst: string;
  reason: string;
  stepHash: string;
}

export type ApprovalDecision =
  | { kind: 'approved'; votes: ApprovalVote[] }
  | { kind: 'denied'; analyst: string; reason: string }
  | { kind: 'expired' };

/** Where gates get their decisions: a terminal, flags given up front, later an HTTP API. */
export interface ApprovalDesk {
  decide(request: ApprovalRequest): Promise<ApprovalDecision>;
}

export class ApprovalRefusedError extends SoarError {
  constructor(message: string) {
    super('APPROVAL_REFUSED', message);
  }
}

/** Whether an analyst may decide on a gate: named in the config, with one of the gate's roles. */
export function checkApprover(config: Config, request: Pick<ApprovalRequest, 'roles' | 'step'>, analyst: string): void {
  const approver = config.approvers[analyst];
  if (!approver) {
    throw new ApprovalRefusedError(`${analyst} is not an approver in the config (approvers: ${Object.keys(config.approvers).join(', ') || 'none'})`);
  }
  if (request.roles.length > 0 && !approver.roles.some((role) => request.roles.includes(role))) {
    throw new ApprovalRefusedError(`${analyst} (roles ${approver.roles.join(', ')}) may not approve step ${request.step.id}, which needs ${request.roles.join(' or ')}`);
  }
}

/**
 * Counts votes for one gate: each must come from an eligible approver, be about the step's
 * current hash, and no person counts twice. Returns the votes that count.
 */
export function tallyVotes(config: Config, request: ApprovalRequest, votes: readonly ApprovalVote[]): ApprovalVote[] {
  const counted = new Map<string, ApprovalVote>();
  for (const vote of votes) {
    checkApprover(config, request, vote.analyst);
    if (vote.stepHash !== request.stepHash) {
      throw new ApprovalRefusedError(`the approval by ${vote.analyst} is for another version of step ${request.step.id} (plan changed): void`);
    }
    if (counted.has(vote.analyst)) throw new ApprovalRefusedError(`${vote.analyst} has already approved step ${request.step.id}: one person counts once`);
    counted.set(vote.analyst, vote);
  }
  return [...counted.values()];
}
