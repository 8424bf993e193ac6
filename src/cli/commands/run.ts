import { recordRefusedInput } from '../../audit/refused-input.js';
import { ACTIONS } from '../../actions/registry.js';
import { readAlerts } from '../../alert/intake.js';
import type { ApprovalDesk } from '../../approvals/approval.js';
import { eligibleVotes, pregrantedDesk } from '../../approvals/pregranted-desk.js';
import { terminalDesk } from '../../approvals/terminal-desk.js';
import type { Config } from '../../config/config.js';
import { SoarError } from '../../errors.js';
import { completed, reportText, runReport, type RunReport } from '../../engine/report.js';
import { inHostLanes } from '../../engine/host-lanes.js';
import { runToEnd } from '../../engine/runner.js';
import { buildPlan, type Plan } from '../../plan/plan.js';
import { loadPlaybook, type Playbook } from '../../playbook/load.js';
import type { ApprovalRow, LeaseRow } from '../../store/store.js';
import { EXIT, parseCommandArgs, UsageError, wholeNumber, writeJson, type CliCommand, type Io } from '../command.js';
import { DEFAULT_PLAYBOOK } from '../defaults.js';
import { progressPrinter } from '../progress.js';
import { openSession, type Session } from '../session.js';

const DEFAULT_PARALLEL = 16;
const MAX_PARALLEL = 1024;

export const runCommand: CliCommand = {
  name: 'run',
  help: `Usage: soar run --alert FILE [--config FILE] [--playbook FILE] [--store FILE]
                [--approve-as NAME]... [--reason TEXT] [--parallel N] [--json]

Plans the response (as soar plan does), records the run in the store, then runs it on the
alert's host over SSH with pinned host keys. A file with several alerts (a search response, a
webhook body) is responded to on up to --parallel hosts at once; one host's alerts run in turn.
Every alert is checked and planned before any host is touched: one refused alert refuses them all.
At each approval gate:
  --approve-as NAME   the named analysts approve every gate they are eligible for (config
                      approvers and roles; repeat for n-of-m gates), with --reason TEXT;
  at a terminal       you are shown the step's exact commands and asked;
  otherwise           the run waits for soar approve / soar deny from anyone, until the gate expires.
An alert that already has a run is not run twice: its run is resumed (while another soar
process carries it out, this one waits for it). Every transition, decision, command and result
is in the store's audit trail (soar audit show RUN).

Options:
  --alert FILE        alert JSON (document, hit, search response or Kibana webhook body)
  --config FILE       inventory and settings (default: $SOAR_CONFIG, else ./soar.yaml)
  --playbook FILE     playbook YAML (default: the bundled mining-service playbook)
  --store FILE        the SQLite store (default: $SOAR_STORE, else ./soar.db)
  --approve-as NAME   approve gates as this analyst (repeat for n-of-m gates)
  --reason TEXT       the reason recorded with --approve-as approvals
  --parallel N        hosts responded to at once (default ${DEFAULT_PARALLEL}; 1 when asking at a terminal)
  --json              print the run reports as JSON (progress goes to stderr)

Exit status: 0 response completed (contained, false positive, or nothing found), 1 the run ended
escalated (a step failed, an approval was denied or expired) or failed, 2 usage, 3 input refused.

Example:
  soar run --alert alert.json --config soar.yaml --approve-as alice --reason "INC-4411: miner confirmed"
`,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      {
        alert: { type: 'string' },
        config: { type: 'string' },
        playbook: { type: 'string' },
        store: { type: 'string' },
        'approve-as': { type: 'string', multiple: true },
        reason: { type: 'string' },
        parallel: { type: 'string', default: String(DEFAULT_PARALLEL) },
        json: { type: 'boolean', default: false },
      },
      { min: 0, max: 0 },
    );
    if (!values.alert) throw new UsageError('--alert FILE is required');
    const approvers = values['approve-as'] ?? [];
    if (approvers.length > 0 && !values.reason) throw new UsageError('--approve-as needs --reason TEXT: every approval is recorded with why');
    const parallel = wholeNumber(values.parallel, '--parallel', { min: 1, max: MAX_PARALLEL });
    const session = await openSession({ config: values.config, store: values.store, progress: progressPrinter(io.stderr) });
    try {
      const playbook = await loadPlaybook(values.playbook ?? DEFAULT_PLAYBOOK, ACTIONS);
      const alerts = await refusedIntoAudit(session, () => readAlerts(values.alert!));
      const plans: Plan[] = [];
      for (const alert of alerts) plans.push(await refusedIntoAudit(session, async () => buildPlan({ alert, playbook, config: session.config, actions: ACTIONS })));
      // Prompts at a terminal come one at a time.
      const lanes = approvers.length === 0 && process.stdin.isTTY ? 1 : parallel;
      const reports = await inHostLanes(plans, (plan) => plan.target.host.name, lanes, (plan) => carryOut(session, plan, playbook, { approvers, reason: values.reason }, io));
      if (values.json) writeJson(io, reports);
      else for (const report of reports) io.stdout(reportText(report));
      return reports.every(completed) ? EXIT.ok : EXIT.failed;
    } finally {
      await session.close();
    }
  },
};

/**
 * Starts (or, for a plan that already has its run, resumes) a run and drives it to its end, with
 * approvals from --approve-as, the terminal, or soar approve from anyone.
 */
export async function carryOut(session: Session, plan: Plan, playbook: Playbook, approval: { approvers: string[]; reason: string | undefined }, io: Io): Promise<RunReport> {
  await refusedIntoAudit(session, async () => checkReachable(plan));
  const desk = approval.approvers.length > 0 ? checkedPregrantedDesk(session.config, plan, approval.approvers, approval.reason!) : interactiveDesk(session.config, plan);
  const { runId, created } = session.runtime.start(plan, playbook);
  io.stderr(`soar ${plan.playbook.id} ${runId}: ${plan.target.unit} on ${plan.target.host.name} (plan ${plan.hash.slice(0, 12)})${created ? '' : ': this run exists already; resuming it'}\n`);
  await runToEnd(session.runtime, runId, { config: session.config, desk, onWaiting: waitingNotice(io), onBusy: busyNotice(io, runId) });
  return runReport(session.store, runId);
}

/** Refused input (bad alert, alert not taken, unknown host) is audited, then reported. */
export async function refusedIntoAudit<T>(session: Session, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    recordRefusedInput(session.store, error);
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

/** At a terminal, ask; elsewhere no desk: decisions come from soar approve / soar deny. */
function interactiveDesk(config: Config, plan: Plan): ApprovalDesk | undefined {
  if (!process.stdin.isTTY) return undefined;
  return terminalDesk(config, { input: process.stdin, output: process.stderr }, plan.host?.user ?? 'root');
}

export function waitingNotice(io: Io): (approval: ApprovalRow) => void {
  return (approval) =>
    io.stderr(
      `  ${approval.run} ${approval.step}: waiting for ${approval.count} approval(s) until ${approval.expiresAt}; review with\n` +
        `    soar status ${approval.run}\n  then decide with\n` +
        `    soar approve ${approval.run} ${approval.step} --as NAME --reason TEXT --hash ${approval.stepHash}\n`,
    );
}

export function busyNotice(io: Io, runId: string): (holder: LeaseRow) => void {
  return (holder) =>
    io.stderr(`  ${runId}: ${holder.run === runId ? 'driven by' : 'its host is acted on by'} another soar process (pid ${holder.pid} on ${holder.hostname}); waiting until it lets go\n`);
}
