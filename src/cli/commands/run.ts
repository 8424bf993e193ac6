import { ACTIONS } from '../../actions/registry.js';
import { readAlerts } from '../../alert/intake.js';
import type { ApprovalDesk } from '../../approvals/approval.js';
import { eligibleVotes, pregrantedDesk } from '../../approvals/pregranted-desk.js';
import { terminalDesk } from '../../approvals/terminal-desk.js';
import { FileJournal, type Journal } from '../../audit/journal.js';
import type { Config } from '../../config/config.js';
import { isSoarError, SoarError } from '../../errors.js';
import { executeRun, type RunReport } from '../../engine/run.js';
import { buildPlan, type Plan } from '../../plan/plan.js';
import { loadPlaybook } from '../../playbook/load.js';
import { SshFleet } from '../../transport/ssh/fleet.js';
import { EXIT, parseCommandArgs, UsageError, writeJson, type CliCommand, type Io } from '../command.js';
import { configFrom, DEFAULT_PLAYBOOK } from '../defaults.js';
import { progressPrinter } from '../progress.js';

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'Respond to an alert: run the playbook on the host over SSH, with approval gates',
  help: `Usage: soar run --alert FILE [--config FILE] [--playbook FILE] [--approve-as NAME]... [--reason TEXT]
                [--audit FILE] [--json]

Plans the response (as soar plan does), then runs it on the alert's host over SSH with pinned
host keys. Each approval gate shows the step's exact commands and asks at the terminal, unless
--approve-as names analysts who approve every gate they are eligible for (config approvers and
roles; the reason is --reason). Every decision, command and result is appended to the audit file.

Options:
  --alert FILE        alert JSON (document, hit, search response or Kibana webhook body)
  --config FILE       inventory and settings (default: $SOAR_CONFIG, else ./soar.yaml)
  --playbook FILE     playbook YAML (default: the bundled mining-service playbook)
  --approve-as NAME   approve gates as this analyst (repeat for n-of-m gates)
  --reason TEXT       the reason recorded with --approve-as approvals
  --audit FILE        audit trail, JSON Lines, hash-chained (default: $SOAR_AUDIT, else ./soar-audit.jsonl)
  --json              print the run report as JSON (progress still goes to stderr)

Exit status: 0 response completed (contained, false positive, or nothing found), 1 the run ended
escalated (a step failed, an approval was denied or expired) or failed, 2 usage, 3 input refused.

Example:
  soar run --alert alert.json --config soar.yaml --approve-as alice --reason "INC-4411, miner confirmed"
`,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      {
        alert: { type: 'string' },
        config: { type: 'string' },
        playbook: { type: 'string' },
        'approve-as': { type: 'string', multiple: true },
        reason: { type: 'string' },
        audit: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      { min: 0, max: 0 },
    );
    if (!values.alert) throw new UsageError('--alert FILE is required');
    const approvers = values['approve-as'] ?? [];
    if (approvers.length > 0 && !values.reason) throw new UsageError('--approve-as needs --reason TEXT: every approval is recorded with why');
    const journal = new FileJournal(values.audit ?? (process.env.SOAR_AUDIT || 'soar-audit.jsonl'));
    try {
      const [{ config }, playbook] = await Promise.all([configFrom(values.config), loadPlaybook(values.playbook ?? DEFAULT_PLAYBOOK, ACTIONS)]);
      const alerts = await refusedIntoJournal(journal, () => readAlerts(values.alert!));
      const reports: RunReport[] = [];
      for (const alert of alerts) {
        const plan = await refusedIntoJournal(journal, async () => checkReachable(buildPlan({ alert, playbook, config, actions: ACTIONS })));
        const desk = approvers.length > 0 ? checkedPregrantedDesk(config, plan, approvers, values.reason!) : interactiveDesk(config, plan, io);
        io.stderr(`soar run ${plan.runId}: ${plan.target.unit} on ${plan.target.host.name} (playbook ${plan.playbook.id}, plan ${plan.hash.slice(0, 12)})\n`);
        const fleet = new SshFleet(config);
        try {
          reports.push(
            await executeRun({ plan, playbook, config, actions: ACTIONS, journal, desk, hosts: fleet, progress: progressPrinter(io.stderr, plan.steps.length) }),
          );
        } finally {
          await fleet.close();
        }
      }
      if (values.json) writeJson(io, reports.map(reportJson));
      else for (const report of reports) io.stdout(reportText(report));
      return reports.every((report) => report.status === 'done' && !report.context.escalation) ? EXIT.ok : EXIT.failed;
    } finally {
      journal.close();
    }
  },
};

/** Refused input (bad alert, alert not taken, unknown host) is recorded, then reported. */
async function refusedIntoJournal<T>(journal: Journal, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isSoarError(error)) journal.append({ run: '-', kind: 'input.refused', actor: 'soar', data: error.toJSON() });
    throw error;
  }
}

function checkReachable(plan: Plan): Plan {
  if (!plan.host) {
    throw new SoarError('HOST_NOT_IN_INVENTORY', `host ${plan.target.host.name} is not in the inventory: add it (address, user, identity) and pin its key in known_hosts`);
  }
  return plan;
}

/** With --approve-as, a gate nobody named could open is found before anything runs. */
function checkedPregrantedDesk(config: Config, plan: Plan, analysts: string[], reason: string): ApprovalDesk {
  for (const step of plan.steps) {
    if (!step.approval) continue;
    const request = { runId: plan.runId, step, stepHash: step.hash, count: step.approval.count, roles: step.approval.roles, expiresAt: new Date() };
    const votes = eligibleVotes(config, request, analysts, reason);
    if (votes.length < step.approval.count) {
      throw new SoarError(
        'APPROVERS_INSUFFICIENT',
        `step ${step.id} needs ${step.approval.count} approval(s) from ${step.approval.roles.join(' or ') || 'any approver'}, and --approve-as names ${votes.length} eligible (see approvers in the config)`,
      );
    }
  }
  return pregrantedDesk(config, analysts, reason);
}

function interactiveDesk(config: Config, plan: Plan, io: Io): ApprovalDesk {
  if (!process.stdin.isTTY && plan.steps.some((step) => step.approval)) {
    throw new UsageError('this playbook has approval gates: run at a terminal to be asked, or give --approve-as NAME --reason TEXT');
  }
  return terminalDesk(config, { input: process.stdin, output: process.stderr }, plan.host?.user ?? 'root');
}

function reportJson(report: RunReport) {
  return { runId: report.runId, status: report.status, outcomes: report.context.outcomes, escalation: report.context.escalation, failures: report.context.failures, results: Object.fromEntries(report.results), case: report.case };
}

function reportText(report: RunReport): string {
  const lines = [`Run ${report.runId}: ${report.status}${report.context.escalation ? `, escalated: ${report.context.escalation.reason} at step ${report.context.escalation.step}${report.context.escalation.detail ? ` (${report.context.escalation.detail})` : ''}` : ''}`];
  for (const [step, result] of report.results) lines.push(`  ${step.padEnd(10)} ${result.outcome.padEnd(15)} ${result.summary}`);
  for (const [step, failure] of Object.entries(report.context.failures)) if (!report.results.has(step)) lines.push(`  ${step.padEnd(10)} ${'failed'.padEnd(15)} ${failure.message}`);
  if (report.case) lines.push(`  case: ${report.case.title}`);
  return `${lines.join('\n')}\n`;
}
