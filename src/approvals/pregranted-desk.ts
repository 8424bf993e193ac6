import type { Config } from '../config/config.js';
import { tallyVotes, type ApprovalDesk, type ApprovalRequest, ApprovalRefusedError } from './approval.js';

/**
 * Approvals given up front on the command line (`--approve-as NAME`): each named analyst
 * approves every gate they are eligible for, with the same reason. Refused when a gate could not
 * reach its count, so that a run never starts with a gate nobody can open.
 */
export function pregrantedDesk(config: Config, analysts: readonly string[], reason: string): ApprovalDesk {
  return {
    async decide(request: ApprovalRequest) {
      const votes = eligibleVotes(config, request, analysts, reason);
      if (votes.length < request.count) {
        throw new ApprovalRefusedError(
          `step ${request.step.id} needs ${request.count} approval(s) from ${request.roles.join(' or ') || 'any approver'}; --approve-as gave ${votes.length}`,
        );
      }
      return { kind: 'approved', votes: votes.slice(0, request.count) };
    },
  };
}

/** The votes the named analysts can give on a gate (the ineligible are left out). */
export function eligibleVotes(config: Config, request: ApprovalRequest, analysts: readonly string[], reason: string) {
  return analysts.flatMap((analyst) => {
    try {
      return tallyVotes(config, request, [{ analyst, reason, stepHash: request.stepHash }]);
    } catch {
      return [];
    }
  });
}
