import { inHostLanes } from '../../engine/host-lanes.js';
import { completed, reportText, runReport } from '../../engine/report.js';
import { runToEnd } from '../../engine/runner.js';
import { EXIT, parseCommandArgs, writeJson, type CliCommand } from '../command.js';
import { progressPrinter } from '../progress.js';
import { openSession } from '../session.js';
import { busyNotice, waitingNotice } from './run.js';

export const resumeCommand: CliCommand = {
  name: 'resume',
  help: `Usage: soar resume [--store FILE] [--config FILE] [--wait] [--json]

Resumes every active run in the store. A step that was running when the runner stopped is
settled first with its action's read-only verify (its effect in place: not run again); approval
expiries and retries that fell due while nothing ran fire now. Without --wait, runs that need
an analyst's decision are left waiting (decide with soar approve / soar deny, then resume again).
A host's runs are carried on one after another. A run another soar process is carrying out, or
whose host it acts on (it holds the run's or the host's lease), is left to it.

Example:
  soar resume --config soar.yaml
`,
  async run(args, io) {
    const { values } = parseCommandArgs(args, { store: { type: 'string' }, config: { type: 'string' }, wait: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, { min: 0, max: 0 });
    const session = await openSession({ config: values.config, store: values.store, progress: progressPrinter(io.stderr) });
    try {
      const runs = session.store.runs({ status: 'active' });
      if (runs.length === 0) io.stderr('no unfinished runs\n');
      const notice = waitingNotice(io);
      // A host's runs one after another, as soar run and soar serve take them.
      await inHostLanes(runs, (run) => run.host, runs.length, async (run) => {
        if (values.wait) return runToEnd(session.runtime, run.id, { config: session.config, onWaiting: notice, onBusy: busyNotice(io, run.id) });
        const state = await session.runtime.drive(run.id);
        if (state === 'waiting') for (const approval of session.store.approvals({ run: run.id, state: 'pending' })) notice(approval);
        if (state === 'busy') io.stderr(`  ${run.id}: another soar process drives it, or acts on its host, now; left to it\n`);
        return state;
      });
      const reports = runs.map((run) => runReport(session.store, run.id));
      if (values.json) writeJson(io, reports);
      else for (const report of reports) io.stdout(reportText(report));
      return reports.every((report) => report.status === 'active' || completed(report)) ? EXIT.ok : EXIT.failed;
    } finally {
      await session.close();
    }
  },
};
