import type { Command } from './command.js';
import { commandLine } from './quote.js';

/** Seconds `timeout` waits after SIGTERM before it sends SIGKILL. */
export const KILL_AFTER_SECONDS = 5;
/** How long past the remote kill the client still waits for an exit status before giving up. */
export const CLIENT_GRACE_MS = 3_000;

/** The line sent over SSH for one command, and the two clocks that bound it. */
export interface RemoteInvocation {
  argv: string[];
  line: string;
  /** The limit the host's `timeout` enforces, in ms (whole seconds). */
  limitMs: number;
  /** When the client stops waiting: the remote limit, the kill grace, and a margin. */
  deadlineMs: number;
}

/**
 * Wraps the program in `timeout -k` (signals and channel close do not stop a remote program) and,
 * for a non-root user, in `sudo -n` (never prompts: a missing sudo rule fails fast instead of hanging).
 */
export function remoteInvocation(command: Command, user: string): RemoteInvocation {
  const seconds = Math.max(1, Math.ceil(command.timeoutMs / 1000));
  const sudo = user === 'root' ? [] : ['sudo', '-n', '--'];
  const argv = [...sudo, 'timeout', '-k', `${KILL_AFTER_SECONDS}`, `${seconds}`, ...command.argv];
  return {
    argv,
    line: commandLine(argv),
    limitMs: seconds * 1000,
    deadlineMs: (seconds + KILL_AFTER_SECONDS) * 1000 + CLIENT_GRACE_MS,
  };
}
