import { AlertNotTakenError } from '../plan/plan.js';
import { isSoarError, SoarError } from '../errors.js';
import { YamlFileError } from '../yaml/located.js';
import { soarVersion } from '../paths.js';
import { EXIT, UsageError, type CliCommand, type Io } from './command.js';

/**
 * The commands, each loaded only when it runs: `soar run` starts without the HTTP server's
 * modules, `soar --help` without any command's.
 */
const COMMANDS: ReadonlyArray<{ name: string; summary: string; load: () => Promise<CliCommand> }> = [
  { name: 'plan', summary: 'Show the exact commands a response would run for an alert, without connecting anywhere', load: async () => (await import('./commands/plan.js')).planCommand },
  { name: 'run', summary: 'Respond to alerts: run the playbook on their hosts over SSH, with approval gates', load: async () => (await import('./commands/run.js')).runCommand },
  { name: 'audit', summary: "Verify the hash-chained audit trail, show a run's timeline, export a run's report", load: async () => (await import('./commands/audit.js')).auditCommand },
  { name: 'status', summary: 'List runs, or show one run with its pending approvals and their exact commands', load: async () => (await import('./commands/status.js')).statusCommand },
  { name: 'approve', summary: "Approve a step waiting at its gate (bound to the step's hash)", load: async () => (await import('./commands/decide.js')).approveCommand },
  { name: 'deny', summary: 'Deny a step waiting at its gate: the run escalates', load: async () => (await import('./commands/decide.js')).denyCommand },
  { name: 'release', summary: 'Lift the isolation a run applied to its host (a run of its own, with its own approval)', load: async () => (await import('./commands/release.js')).releaseCommand },
  { name: 'resume', summary: 'Carry on every unfinished run after a restart: settle interrupted steps, fire due deadlines', load: async () => (await import('./commands/resume.js')).resumeCommand },
  { name: 'serve', summary: 'Run as a service: Kibana webhook intake, approvals over HTTP, many incidents at once', load: async () => (await import('./commands/serve.js')).serveCommand },
  { name: 'validate', summary: 'Check playbooks (and optionally a config file); errors give file:line:column', load: async () => (await import('./commands/validate.js')).validateCommand },
  { name: 'schema', summary: "Print the playbook JSON Schema (for editors' YAML validation and completion)", load: async () => (await import('./commands/schema.js')).schemaCommand },
  { name: 'graph', summary: "Print a playbook's state machine as a Mermaid diagram, for docs and review", load: async () => (await import('./commands/graph.js')).graphCommand },
];

/** Errors about the input (alert, playbook, config) rather than about soar or the world. */
const REFUSED_CODES = new Set(['ALERT_INVALID', 'INVALID_FIELD', 'ALERT_NOT_TAKEN', 'HOST_NOT_IN_INVENTORY', 'APPROVERS_INSUFFICIENT', 'APPROVAL_REFUSED', 'RUN_NOT_FOUND']);


function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `soar ${soarVersion()}: responds to Elastic Security alerts with playbooks run over SSH

Usage: soar <command> [options]     (soar <command> --help for details)

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Exit status: 0 done, 1 failed, 2 usage error, 3 input refused (alert, playbook or config).
`;
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs one CLI invocation; returns the exit status. Never throws. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout(overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`${soarVersion()}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find((candidate) => candidate.name === name);
  if (!entry) {
    io.stderr(`soar: unknown command "${name}"\n\n${overview()}`);
    return EXIT.usage;
  }
  const command = await entry.load();
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(command.help);
    return EXIT.ok;
  }
  const json = args.includes('--json');
  try {
    return await command.run(args, io);
  } catch (error) {
    return reportError(error, command, io, json);
  }
}

function reportError(error: unknown, command: CliCommand, io: Io, json: boolean): number {
  if (error instanceof UsageError) {
    io.stderr(`soar ${command.name}: ${error.message}\n\n${command.help}`);
    return EXIT.usage;
  }
  const known = isSoarError(error);
  const status = known && (REFUSED_CODES.has(error.code) || error instanceof YamlFileError) ? EXIT.refused : EXIT.failed;
  if (json) {
    const body = known
      ? { error: { ...error.toJSON(), ...(error instanceof AlertNotTakenError ? { reasons: error.reasons } : {}) } }
      : { error: { code: 'INTERNAL', message: String(error) } };
    io.stdout(`${JSON.stringify(body, null, 2)}\n`);
  } else if (error instanceof AlertNotTakenError) {
    io.stderr(`soar ${command.name}: refused (${error.code}): this playbook does not take the alert\n${error.reasons.map((reason) => `  - ${reason}\n`).join('')}`);
  } else if (known) {
    io.stderr(`soar ${command.name}: ${error instanceof SoarError ? `${error.message} (${error.code})` : ''}\n`);
  } else {
    io.stderr(`soar ${command.name}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  return status;
}
