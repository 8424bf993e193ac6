/**
 * A program to run on a host: an argument vector (argv[0] is the program), optional standard
 * input, and how long it may take. Values that come from an alert only ever appear as whole
 * elements of argv, never inside the text of a script.
 */
export interface Command {
  argv: readonly string[];
  stdin?: string;
  /** Wall-clock limit for the program on the host; the transport enforces it there and locally. */
  timeoutMs: number;
}

/** Runs a constant script under `sh -c`; `args` become its positional parameters $1, $2, … */
export function shScript(name: string, script: string, args: readonly string[], timeoutMs: number): Command {
  return { argv: ['sh', '-c', script, `soar-${name}`, ...args], timeoutMs };
}
