import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SoarError } from '../errors.js';

/** Where a command writes: injected so that tests run commands in-process. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface CliCommand {
  name: string;
  /** Full help text: usage line, options, an example. */
  help: string;
  run(args: string[], io: Io): Promise<number>;
}

/** Exit statuses, documented in the README. */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

export class UsageError extends SoarError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** parseArgs with strict checking, whose mistakes become UsageErrors (exit 2, with help). */
export function parseCommandArgs<O extends Options>(args: string[], options: O, positionals: { min: number; max: number }): Parsed<O> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError('missing argument');
  if (count > positionals.max) throw new UsageError(`unexpected argument: ${parsed.positionals[positionals.max]}`);
  return parsed;
}

/** An option's whole number from `min` to `max`, or a UsageError that names the option. */
export function wholeNumber(text: string, option: string, range: { min?: number; max: number }): number {
  const min = range.min ?? 0;
  const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= range.max)) throw new UsageError(`${option} takes a whole number from ${min} to ${range.max}, not "${text}"`);
  return value;
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
