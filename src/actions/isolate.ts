import { z } from 'zod';
import { parseDuration } from '../config/config.js';
import type { ActionDefinition, PlanContext } from './action.js';
import { StepFailedError } from './failure.js';
import type { Records } from './records.js';
import { hostScript } from './script.js';

const params = z.strictObject({
  /** Overrides the config's isolation.revert_after for this step. */
  revert_after: z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 60s or 2m')
    .optional(),
});

/** The arguments describing what stays reachable: management SSH and the explicit allow-list. */
function isolationArgs(context: PlanContext): string[] {
  const { isolation } = context.config;
  return [
    ...isolation.management.map((cidr) => `mgmt=${cidr}`),
    ...isolation.allow_out.map((rule) => `allow=${rule.protocol},${rule.address},${rule.port ?? ''}`),
  ];
}

export const isolate: ActionDefinition<z.infer<typeof params>> = {
  name: 'isolate',
  summary: 'Cut the host off the network (nftables, inet family) except management SSH and an allow-list; confirm over a new SSH connection or revert',
  destructive: true,
  params,
  outcomes: ['isolated'],
  plan(stepParams, context) {
    const revertMs = stepParams.revert_after ? parseDuration(stepParams.revert_after) : context.config.isolation.revert_after;
    const revertSeconds = String(Math.max(1, Math.ceil(revertMs / 1000)));
    return [
      {
        purpose: `check and apply the isolation table atomically, after arming a timer that removes it in ${revertSeconds}s`,
        where: 'host',
        command: hostScript('isolate', [context.runId, revertSeconds, ...isolationArgs(context)], context.timeoutMs),
      },
      {
        purpose: 'prove management access over a new SSH connection (else the timer restores access)',
        where: 'host',
        fresh: true,
        command: { argv: ['true'], timeoutMs: context.timeoutMs },
      },
      {
        purpose: 'disarm the revert timer: isolation stays until an approved release',
        where: 'host',
        command: hostScript('isolate-confirm', [context.runId], context.timeoutMs),
      },
    ];
  },
  interpret(_params, [apply, , confirm]) {
    if (!apply?.records.has('applied') || !confirm?.records.has('confirmed')) {
      throw new StepFailedError('isolation was not confirmed; the revert timer restores access', { retryable: true });
    }
    return {
      outcome: 'isolated',
      summary: `isolated; management SSH from ${apply.records.get('management') || 'the configured addresses'} proven over a new connection`,
      // The table is replaced atomically every time: an isolated host stays isolated, nothing else changes.
      changed: true,
      evidence: { management: apply.records.get('management'), ruleset: apply.records.get('ruleset'), revertTimer: apply.records.get('revert_timer') },
    };
  },
  verify(_params, { runId, timeoutMs }) {
    return { command: hostScript('isolate-verify', [runId], timeoutMs), holds: isolated };
  },
};

/** The table is in place and no revert timer will remove it. */
const isolated = (records: Records): boolean => records.get('table') === 'present' && records.get('revert_timer') === 'disarmed';
