import { pendingApprovals, runReport } from '../../engine/report.js';
import { lapsedBecause } from '../../engine/run-leases.js';
import { displayLine } from '../../plan/render.js';
import { RUN_STATES, type RunState } from '../../store/store.js';
import { EXIT, parseCommandArgs, UsageError, wholeNumber, writeJson, type CliCommand } from '../command.js';
import { openSession } from '../session.js';

export const statusCommand: CliCommand = {
  name: 'status',
  help: `Usage: soar status [RUN] [--store FILE] [--config FILE] [--json]
       soar status [--status STATE] [--limit N] [--store FILE] [--config FILE] [--json]

Without RUN: the runs in the store, in the order they started, with their state and pending
approvals: every run, or the newest N (--limit) in one state (--status: ${RUN_STATES.join(', ')}).
With RUN: the run's steps so far, which soar process drives it (or drove it and stopped: the
next soar resume or soar serve takes it over), and each pending approval with the exact commands
it will run, the step hash to decide on, and the command to approve it.

Examples:
  soar status --status active --limit 20
  soar status run-b9553159c9182bb3
`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(
      args,
      { store: { type: 'string' }, config: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean', default: false } },
      { min: 0, max: 1 },
    );
    const [runId] = positionals;
    if (runId !== undefined && (values.status !== undefined || values.limit !== undefined)) throw new UsageError('--status and --limit list runs: give them without RUN');
    const status = values.status === undefined ? undefined : runState(values.status);
    const limit = values.limit === undefined ? undefined : wholeNumber(values.limit, '--limit', { min: 1, max: 999_999 });
    const session = await openSession({ config: values.config, store: values.store });
    try {
      const { store, runtime } = session;
      if (runId === undefined) {
        const { runs, total } = store.runSummaries({ status, limit });
        if (values.json) writeJson(io, runs);
        else if (runs.length === 0) io.stdout(status ? `no ${status} runs in the store\n` : 'no runs in the store\n');
        else {
          for (const run of runs) io.stdout(`${run.run}  ${run.status.padEnd(7)} ${run.host}  ${run.unit}  at ${JSON.stringify(run.state)}${run.pending.length ? `  waiting for approval of ${run.pending.join(', ')}` : ''}\n`);
          if (total > runs.length) io.stdout(`(the newest ${runs.length} of ${total}${status ? ` ${status}` : ''} runs)\n`);
        }
        return EXIT.ok;
      }
      const run = runtime.run(runId);
      const report = runReport(store, runId);
      const pending = pendingApprovals(store, run);
      const lease = store.leaseHolder(runId);
      const driver = lease && { hostname: lease.hostname, pid: lease.pid, until: new Date(lease.expiresAt).toISOString(), lapsed: lapsedBecause(lease) ?? null };
      if (values.json) {
        writeJson(io, { ...report, state: run.snapshot.value, driver: driver ?? null, pending });
        return EXIT.ok;
      }
      io.stdout(`Run ${runId}: ${run.status} at ${JSON.stringify(run.snapshot.value)} (${report.unit} on ${report.host})\n`);
      if (driver) {
        io.stdout(
          driver.lapsed
            ? `  was driven by pid ${driver.pid} on ${driver.hostname}, which stopped (${driver.lapsed === 'expired' ? `its lease expired at ${driver.until}` : 'its process is gone'}): the next soar resume or soar serve takes it over\n`
            : `  driven by pid ${driver.pid} on ${driver.hostname} (its lease runs to ${driver.until})\n`,
        );
      }
      for (const [step, result] of Object.entries(report.results)) io.stdout(`  ${step.padEnd(10)} ${result.outcome.padEnd(15)} ${result.summary}\n`);
      for (const approval of pending) {
        io.stdout(`\nPending approval: ${approval.step} (${approval.count} of ${approval.roles.join(' or ') || 'any approver'}; ${approval.votes.length} given; expires ${approval.expiresAt})\n  ${approval.summary}\n`);
        for (const planned of approval.commands) {
          io.stdout(`  - ${planned.purpose}\n`);
          if (planned.where === 'host') io.stdout(`    $ ${displayLine(planned.command, run.plan.host?.user ?? 'root')}\n`);
        }
        io.stdout(`  step hash ${approval.stepHash}\n  soar approve ${runId} ${approval.step} --as NAME --reason TEXT --hash ${approval.stepHash}\n`);
      }
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};

function runState(text: string): RunState {
  const state = RUN_STATES.find((known) => known === text);
  if (state === undefined) throw new UsageError(`--status takes one of ${RUN_STATES.join(', ')}, not "${text}"`);
  return state;
}
