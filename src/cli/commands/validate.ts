import { ACTIONS } from '../../actions/registry.js';
import { loadConfig } from '../../config/config.js';
import { loadPlaybook } from '../../playbook/load.js';
import { isSoarError } from '../../errors.js';
import { parseCommandArgs, writeJson, EXIT, UsageError, type CliCommand } from '../command.js';

export const validateCommand: CliCommand = {
  name: 'validate',
  help: `Usage: soar validate PLAYBOOK... [--config FILE] [--json]

Loads each playbook and checks its schema, every step's params against its action, transitions,
approvals and reachability. With --config, also checks the inventory and settings file.
Exits 0 when everything is valid, 3 when something is not.

Example:
  soar validate playbooks/mining-service.yaml --config soar.yaml
`,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(
      args,
      { config: { type: 'string' }, json: { type: 'boolean', default: false } },
      { min: 0, max: Infinity },
    );
    if (positionals.length === 0 && !values.config) throw new UsageError('name at least one playbook, or --config FILE');
    const checks = [
      ...positionals.map((file) => ({ file, kind: 'playbook' as const, load: () => loadPlaybook(file, ACTIONS) })),
      ...(values.config ? [{ file: values.config, kind: 'config' as const, load: () => loadConfig(values.config!) }] : []),
    ];
    const results: Array<{ file: string; kind: 'playbook' | 'config'; ok: boolean; error?: object }> = [];
    for (const check of checks) {
      try {
        await check.load();
        results.push({ file: check.file, kind: check.kind, ok: true });
      } catch (error) {
        if (!isSoarError(error)) throw error;
        results.push({ file: check.file, kind: check.kind, ok: false, error: error.toJSON() });
      }
    }
    if (values.json) {
      writeJson(io, results);
    } else {
      for (const result of results) {
        io.stdout(result.ok ? `ok    ${result.kind} ${result.file}\n` : `FAIL  ${(result.error as { message: string }).message}\n`);
      }
    }
    return results.every((result) => result.ok) ? EXIT.ok : EXIT.refused;
  },
};
