import { createInterface } from 'node:readline/promises';
import type { Config } from '../config/config.js';
import { displayLine } from '../plan/render.js';
import { ApprovalRefusedError, tallyVotes, type ApprovalDesk, type ApprovalVote } from './approval.js';

/**
 * Asks an analyst at the terminal: shows the step's exact commands and hash, then takes a name,
 * a decision and a reason. Typing nothing before the deadline lets the gate expire.
 */
export function terminalDesk(config: Config, streams: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream }, user: string): ApprovalDesk {
  return {
    async decide(request) {
      const say = (text: string) => streams.output.write(text);
      say(`\nApproval needed: step ${request.step.id} [${request.step.action}], ${request.count} of ${request.roles.join(' or ') || 'any approver'}, until ${request.expiresAt.toISOString()}\n`);
      say(`  ${request.step.summary}\n`);
      for (const planned of request.step.commands) {
        say(`  - ${planned.purpose}\n`);
        if (planned.where === 'host') say(`    $ ${displayLine(planned.command, user)}\n`);
      }
      say(`  step hash ${request.stepHash}\n`);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), Math.max(0, request.expiresAt.getTime() - Date.now()));
      const terminal = createInterface({ input: streams.input, output: streams.output });
      const votes: ApprovalVote[] = [];
      try {
        while (votes.length < request.count) {
          const analyst = (await terminal.question('  analyst name: ', { signal: abort.signal })).trim();
          const answer = (await terminal.question(`  ${analyst}, approve step ${request.step.id}? [y/N] `, { signal: abort.signal })).trim().toLowerCase();
          const reason = (await terminal.question('  reason: ', { signal: abort.signal })).trim();
          try {
            if (answer !== 'y' && answer !== 'yes') {
              tallyVotes(config, request, [{ analyst, reason, stepHash: request.stepHash }]);
              return { kind: 'denied', analyst, reason: reason || 'denied at the terminal' };
            }
            tallyVotes(config, request, [...votes, { analyst, reason, stepHash: request.stepHash }]);
            votes.push({ analyst, reason, stepHash: request.stepHash });
          } catch (error) {
            if (!(error instanceof ApprovalRefusedError)) throw error;
            say(`  refused: ${error.message}\n`);
          }
        }
        return { kind: 'approved', votes };
      } catch (error) {
        if (abort.signal.aborted) return { kind: 'expired' };
        throw error;
      } finally {
        clearTimeout(timer);
        terminal.close();
      }
    },
  };
}
