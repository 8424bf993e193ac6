import * as z from 'zod';
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

const oneLine = (line: string): string => line.trim().replace(/\s+/g, ' ');

/** What the isolate script said it did, as evidence for the analyst. */
function applied(records: Records) {
  return {
    management: records.get('management') || undefined,
    managementSource: records.get('management_source'),
    sshPort: Number(records.get('ssh_port')),
    ruleset: records.get('ruleset'),
    revertTimer: records.get('revert_timer'),
    revertAfterSeconds: Number(records.get('revert_after')),
    superseded: records.all('superseded'),
    cut: records.all('cut').map(oneLine),
    /** Connections the kernel would not cut: the table freezes them until their peers give up. */
    uncut: records.all('uncut').map(oneLine),
  };
}

export const isolate: ActionDefinition<z.infer<typeof params>> = {
  name: 'isolate',
  summary: 'Cut the host off the network (nftables, inet family) except management SSH and an allow-list, and cut its open connections; confirm over a new SSH connection or revert',
  destructive: true,
  params,
  outcomes: ['isolated'],
  plan(stepParams, context) {
    const revertMs = stepParams.revert_after ? parseDuration(stepParams.revert_after) : context.config.isolation.revert_after;
    const revertSeconds = String(Math.max(1, Math.ceil(revertMs / 1000)));
    return [
      {
        purpose: `check and apply the isolation table atomically after arming a timer that removes it in ${revertSeconds}s, then cut open connections`,
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
    if (!apply?.records.has('applied') || !apply.records.complete) {
      throw new StepFailedError('the isolation table was not applied; run the step again', { retryable: true });
    }
    const evidence = applied(apply.records);
    if (!confirm?.records.has('confirmed')) {
      throw new StepFailedError('isolation was not confirmed; the revert timer restores access', { retryable: true, evidence });
    }
    const unchanged = apply.records.has('unchanged') && evidence.cut.length === 0;
    const from = evidence.management ? evidence.management.split(' ')[0] : 'the configured management addresses';
    return {
      outcome: 'isolated',
      summary:
        `${unchanged ? 'already isolated' : 'isolated'}; ${evidence.cut.length} connection(s) cut` +
        `${evidence.uncut.length > 0 ? `, ${evidence.uncut.length} frozen (the kernel cannot cut them)` : ''}` +
        `; management SSH from ${from} proven over a new connection`,
      changed: !unchanged,
      evidence: { ...evidence, disarmed: confirm.records.all('disarmed') },
    };
  },
  verify(_params, { timeoutMs }) {
    return { command: hostScript('isolate-verify', [], timeoutMs), holds: isolated };
  },
};

/** The table is in place as soar applied it, and no revert timer will remove it. */
const isolated = (records: Records): boolean =>
  records.complete && records.get('table') === 'present' && records.get('revert_timer') === 'disarmed';
