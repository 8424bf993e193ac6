import { ACTIONS } from '../../actions/registry.js';
import { completed, reportText } from '../../engine/report.js';
import { planFor } from '../../plan/plan.js';
import { loadPlaybook } from '../../playbook/load.js';
import { EXIT, parseCommandArgs, UsageError, writeJson, type CliCommand } from '../command.js';
import { BUNDLED_PLAYBOOKS_DIR } from '../../paths.js';
import { progressPrinter } from '../progress.js';
import { openSession } from '../session.js';
import { carryOut } from './run.js';

export const releaseCommand: CliCommand = {
  name: 'release',
  help: `Usage: soar release RUN [--config FILE] [--store FILE] [--playbook FILE]
                    [--approve-as NAME]... [--reason TEXT] [--json]

Starts the release-isolation playbook for the host that RUN responded to: after an analyst
approves (as with soar run: --approve-as, the terminal, or soar approve), it removes soar's
nftables table and any armed revert timer, then tells the SOC. Releasing twice is harmless.

Example:
  soar release run-b9553159c9182bb3 --approve-as alice --reason "INC-4411 closed, host reimaged"
`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(
      args,
      {
        config: { type: 'string' },
        store: { type: 'string' },
        playbook: { type: 'string' },
        'approve-as': { type: 'string', multiple: true },
        reason: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      { min: 1, max: 1 },
    );
    const approvers = values['approve-as'] ?? [];
    if (approvers.length > 0 && !values.reason) throw new UsageError('--approve-as needs --reason TEXT: every approval is recorded with why');
    const session = await openSession({ config: values.config, store: values.store, progress: progressPrinter(io.stderr) });
    try {
      const original = session.runtime.run(positionals[0]!);
      const playbook = await loadPlaybook(values.playbook ?? `${BUNDLED_PLAYBOOKS_DIR}release-isolation.yaml`, ACTIONS);
      const plan = planFor({ alert: original.plan.alert, target: original.plan.target, playbook, config: session.config, actions: ACTIONS });
      const report = await carryOut(session, plan, playbook, { approvers, reason: values.reason }, io);
      if (values.json) writeJson(io, report);
      else io.stdout(reportText(report));
      return completed(report) ? EXIT.ok : EXIT.failed;
    } finally {
      await session.close();
    }
  },
};
