import { ACTIONS } from '../../actions/registry.js';
import { readAlerts } from '../../alert/intake.js';
import { buildPlan } from '../../plan/plan.js';
import { planToJson, renderPlanText } from '../../plan/render.js';
import { loadPlaybook } from '../../playbook/load.js';
import { parseCommandArgs, writeJson, EXIT, UsageError, type CliCommand } from '../command.js';
import { configFrom, DEFAULT_PLAYBOOK } from '../defaults.js';

export const planCommand: CliCommand = {
  name: 'plan',
  help: `Usage: soar plan --alert FILE [--playbook FILE] [--config FILE] [--scripts] [--json]

Checks that the playbook takes the alert, validates every alert value that would reach a host,
and prints each step with its approval gate and the exact remote program and quoted arguments.
Nothing is executed and no host is contacted.

Options:
  --alert FILE      alert JSON: an alert document, an Elasticsearch hit or search response,
                    or a Kibana webhook body (each alert in it is planned)
  --playbook FILE   playbook YAML (default: the bundled mining-service playbook)
  --config FILE     inventory and settings (default: $SOAR_CONFIG, else ./soar.yaml if present)
  --scripts         also print the full text of every remote script
  --json            print the plan(s) as JSON, with each host command's exact line

Example:
  soar plan --alert alert.json --config soar.yaml
`,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      {
        alert: { type: 'string' },
        playbook: { type: 'string' },
        config: { type: 'string' },
        scripts: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      { min: 0, max: 0 },
    );
    if (!values.alert) throw new UsageError('--alert FILE is required');
    const [alerts, playbook, { config }] = await Promise.all([
      readAlerts(values.alert),
      loadPlaybook(values.playbook ?? DEFAULT_PLAYBOOK, ACTIONS),
      configFrom(values.config),
    ]);
    const plans = alerts.map((alert) => buildPlan({ alert, playbook, config, actions: ACTIONS }));
    if (values.json) {
      writeJson(io, plans.length === 1 ? planToJson(plans[0]!) : plans.map(planToJson));
    } else {
      io.stdout(plans.map((plan) => renderPlanText(plan, { scripts: values.scripts })).join('\n'));
    }
    return EXIT.ok;
  },
};
