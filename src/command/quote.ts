import { SoarError } from '../errors.js';

/**
 * POSIX shell quoting: wraps a string in single quotes, so that `sh` hands the exact bytes to
 * the program as one argument. Nothing inside single quotes is special except the quote itself,
 * which is closed, escaped and reopened. NUL cannot travel in an argv and is refused.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) {
    throw new SoarError('NUL_IN_ARGUMENT', 'an argument contains a NUL byte, which no program can receive');
  }
  if (value !== '' && /^[A-Za-z0-9_@%+:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Renders an argument vector as one command line for a POSIX shell (what ssh sends). */
export function commandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
