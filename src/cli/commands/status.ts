import { runReport } from '../../engine/report.js';
import { lapsedBecause } from '../../engine/run-leases.js';
import { displayLine } from '../../plan/render.js';
import { EXIT, parseCommandArgs, writeJson, type CliCommand } from '../command.js';
import { openSession } from '../session.js';

export const statusCommand: CliCommand = {
  name: 'status',
  help: `Usage: soar status [RUN] [--store FILE] [--config FILE] [--json]

Without RUN: every run in the store with its state and pending approvals.
With RUN: the run's steps so far, which soar process drives it (or drove it and stopped: the
next soar resume or soar serve takes it over), and each pending approval with the exact commands
it will run, the step hash to decide on, and the command to approve it.

Example:
  soar status run-b9553159c9182bb3
`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { store: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean', default: false } }, { min: 0, max: 1 });
    const session = await openSession({ config: values.config, store: values.store });
    try {
      const { store, runtime } = session;
      const [runId] = positionals;
      if (runId === undefined) {
        const runs = store.runs().map((run) => ({ run: run.id, status: run.status, host: run.host, unit: run.plan.target.unit, state: run.snapshot.value, created: run.createdAt, pending: store.approvals({ run: run.id, state: 'pending' }).map((approval) => approval.step) }));
        if (values.json) writeJson(io, runs);
        else if (runs.length === 0) io.stdout('no runs in the store\n');
        else for (const run of runs) io.stdout(`${run.run}  ${run.status.padEnd(7)} ${run.host}  ${run.unit}  at ${JSON.stringify(run.state)}${run.pending.length ? `  waiting for approval of ${run.pending.join(', ')}` : ''}\n`);
        return EXIT.ok;
      }
      const run = runtime.run(runId);
      const report = runReport(store, runId);
      const pending = store.approvals({ run: runId, state: 'pending' }).map((approval) => {
        const step = run.plan.steps.find((planned) => planned.id === approval.step)!;
        return { ...approval, votes: store.votes(approval.id), summary: step.summary, commands: step.commands };
      });
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
