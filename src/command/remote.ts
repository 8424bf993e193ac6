import type { Command } from './command.js';
import { commandLine } from './quote.js';

/** Grace period between the remote `timeout`'s TERM and its KILL. */
export const KILL_AFTER_SECONDS = 5;

/**
 * The argv actually run on a host: bounded by `timeout -k` there (a closed channel does not
 * stop a remote program), and through `sudo -n` for a non-root login (never prompts).
 */
export function remoteArgv(command: Command, user: string): string[] {
  const seconds = Math.max(1, Math.ceil(command.timeoutMs / 1000));
  return [
    ...(user === 'root' ? [] : ['sudo', '-n', '--']),
    'timeout',
    '-k',
    String(KILL_AFTER_SECONDS),
    String(seconds),
    ...command.argv,
  ];
}

/** The exact command line ssh sends for a command. */
export function remoteCommandLine(command: Command, user: string): string {
  return commandLine(remoteArgv(command, user));
}
