import { recordDecision } from '../../approvals/decide.js';
import { EXIT, parseCommandArgs, UsageError, writeJson, type CliCommand } from '../command.js';
import { openSession } from '../session.js';

/** `soar approve` and `soar deny`: one analyst's decision on one gate, bound to the step's hash. */
function decisionCommand(decision: 'approve' | 'deny'): CliCommand {
  return {
    name: decision,
    help: `Usage: soar ${decision} RUN STEP --as NAME --reason TEXT --hash STEP_HASH [--config FILE] [--store FILE] [--json]

Records ${decision === 'approve' ? 'an approval' : 'a denial'} of a step waiting at its approval gate. The decision is bound to the
step's hash (shown by soar status RUN): if the plan changed, it is refused. NAME must be an
approver in the config with one of the gate's roles; nobody counts twice; a decision on a gate
that is already decided, expired or unknown is refused and audited.${decision === 'approve' ? '\nWhen the gate has its count of approvals, the run moves on (a running soar run picks it up;\notherwise soar resume).' : ''}

Example:
  soar ${decision} run-b9553159c9182bb3 kill --as alice --reason "INC-4411" --hash 0492a3a1…
`,
    async run(args, io) {
      const { values, positionals } = parseCommandArgs(
        args,
        { as: { type: 'string' }, reason: { type: 'string' }, hash: { type: 'string' }, config: { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean', default: false } },
        { min: 2, max: 2 },
      );
      const [run, step] = positionals as [string, string];
      if (!values.as || !values.reason || !values.hash) throw new UsageError('--as NAME, --reason TEXT and --hash STEP_HASH are all required');
      const session = await openSession({ config: values.config, store: values.store });
      try {
        const outcome = recordDecision(session.runtime, session.config, { run, step, analyst: values.as, decision, reason: values.reason, stepHash: values.hash });
        const text = { approved: `step ${step} of ${run} is approved: the run moves on`, denied: `step ${step} of ${run} is denied: the run escalates`, counted: `approval by ${values.as} counted; step ${step} needs more approvals` }[outcome];
        if (values.json) writeJson(io, { run, step, outcome });
        else io.stdout(`${text}\n`);
        return EXIT.ok;
      } finally {
        await session.close();
      }
    },
  };
}

export const approveCommand = decisionCommand('approve');
export const denyCommand = decisionCommand('deny');
