import { ACTIONS } from '../../actions/registry.js';
import { loadPlaybook } from '../../playbook/load.js';
import { renderMermaid } from '../../playbook/render.js';
import { parseCommandArgs, EXIT, type CliCommand } from '../command.js';
import { DEFAULT_PLAYBOOK } from '../defaults.js';

export const graphCommand: CliCommand = {
  name: 'graph',
  help: `Usage: soar graph [PLAYBOOK]

Prints the compiled machine's states (steps, approval gates, retries) and transitions as a
Mermaid stateDiagram-v2 (default: the bundled mining-service playbook).

Example:
  soar graph playbooks/mining-service.yaml > docs/mining-service.mmd
`,
  async run(args, io) {
    const { positionals } = parseCommandArgs(args, {}, { min: 0, max: 1 });
    const playbook = await loadPlaybook(positionals[0] ?? DEFAULT_PLAYBOOK, ACTIONS);
    io.stdout(`${renderMermaid(playbook)}\n`);
    return EXIT.ok;
  },
};
