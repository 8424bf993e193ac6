import { ACTIONS } from '../../actions/registry.js';
import { PLAYBOOK_JSON_SCHEMA } from '../../playbook/schema.js';
import { parseCommandArgs, writeJson, EXIT, type CliCommand } from '../command.js';

export const schemaCommand: CliCommand = {
  name: 'schema',
  help: `Usage: soar schema

Prints a JSON Schema of the playbook format in which each step's \`with\` is typed by its action.

Example (VS Code, YAML extension):
  soar schema > playbook.schema.json
  # then in a playbook's first line:  # yaml-language-server: $schema=./playbook.schema.json
`,
  async run(args, io) {
    parseCommandArgs(args, {}, { min: 0, max: 0 });
    writeJson(io, PLAYBOOK_JSON_SCHEMA(ACTIONS));
    return EXIT.ok;
  },
};
