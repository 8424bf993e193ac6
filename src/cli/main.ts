import { createRequire } from 'node:module';
import { AlertNotTakenError } from '../plan/plan.js';
import { isSoarError, SoarError } from '../errors.js';
import { YamlFileError } from '../yaml/located.js';
import { EXIT, UsageError, type CliCommand, type Io } from './command.js';
import { auditCommand } from './commands/audit.js';
import { graphCommand } from './commands/graph.js';
import { planCommand } from './commands/plan.js';
import { runCommand } from './commands/run.js';
import { approveCommand, denyCommand } from './commands/decide.js';
import { releaseCommand } from './commands/release.js';
import { resumeCommand } from './commands/resume.js';
import { statusCommand } from './commands/status.js';
import { schemaCommand } from './commands/schema.js';
import { serveCommand } from './commands/serve.js';
import { validateCommand } from './commands/validate.js';

const COMMANDS: readonly CliCommand[] = [planCommand, runCommand, auditCommand, statusCommand, approveCommand, denyCommand, releaseCommand, resumeCommand, serveCommand, validateCommand, schemaCommand, graphCommand];

/** Errors about the input (alert, playbook, config) rather than about soar or the world. */
const REFUSED_CODES = new Set(['ALERT_INVALID', 'INVALID_FIELD', 'ALERT_NOT_TAKEN', 'HOST_NOT_IN_INVENTORY', 'APPROVERS_INSUFFICIENT', 'APPROVAL_REFUSED', 'RUN_NOT_FOUND']);

function version(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `soar ${version()}: responds to Elastic Security alerts with playbooks run over SSH

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
    io.stdout(`${version()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr(`soar: unknown command "${name}"\n\n${overview()}`);
    return EXIT.usage;
  }
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
