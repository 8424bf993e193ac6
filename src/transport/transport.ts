import type { Command } from '../command/command.js';

/** One result shape for every transport, whichever way the program ran. */
export interface ExecResult {
  /** The exact command line that was sent (ssh) or the argv joined for display (local). */
  command: string;
  /** Exit status, or null when the program was killed by a signal or the outcome is unknown. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr went over the cap and was cut (a marker ends the text). */
  truncated: boolean;
  startedAt: string;
  durationMs: number;
  timedOut: boolean;
  /**
   * The link died before an exit status arrived: the program may or may not have run to the end.
   * Never treat this as failure or success; settle it by checking the effect (an action's verify).
   */
  outcomeUnknown: boolean;
}

/** Runs programs somewhere (a host over SSH, or this machine). */
export interface Transport {
  exec(command: Command): Promise<ExecResult>;
  close(): Promise<void>;
}

/** Output past this many bytes per stream is dropped and a marker appended. */
export const DEFAULT_OUTPUT_CAP_BYTES = 1024 * 1024;
export const TRUNCATION_MARKER = '\n[soar: output truncated]\n';
