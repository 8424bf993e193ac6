import { execa } from 'execa';
import type { Command } from '../command/command.js';
import { commandLine } from '../command/quote.js';
import { stopwatch, timerAfter } from './clock.js';
import { SpawnFailedError } from './errors.js';
import { CappedOutput } from './output.js';
import { DEFAULT_OUTPUT_CAP_BYTES, type ExecResult, type Transport } from './transport.js';

/** Grace between SIGTERM and SIGKILL, the same as the remote `timeout -k 5`. */
const KILL_AFTER_MS = 5_000;

/** The same interface as SSH, for programs on the runner's own machine. */
export function localTransport(options: { outputCapBytes?: number } = {}): Transport {
  const capBytes = options.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES;
  return {
    exec: (command) => runLocally(command, capBytes),
    close: async () => {},
  };
}

async function runLocally(command: Command, capBytes: number): Promise<ExecResult> {
  const [file, ...args] = command.argv;
  const line = commandLine(command.argv);
  if (file === undefined) throw new SpawnFailedError(line, new Error('empty argv'));
  const stdout = new CappedOutput(capBytes);
  const stderr = new CappedOutput(capBytes);
  const startedAt = new Date();
  const elapsedMs = stopwatch();
  // Its own process group, so a deadline stops the program's children too (as `timeout` does remotely).
  const subprocess = execa(file, args, {
    buffer: false,
    reject: false,
    detached: true,
    stripFinalNewline: false,
    ...(command.stdin === undefined ? { stdin: 'ignore' as const } : { input: command.stdin }),
  });
  subprocess.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  subprocess.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

  let exited = false;
  let timedOut = false;
  subprocess.once('exit', () => {
    exited = true;
  });
  const killGroup = (signal: NodeJS.Signals): void => {
    if (subprocess.pid === undefined) return;
    try {
      process.kill(-subprocess.pid, signal);
    } catch {
      // The whole group is already gone.
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const cancelDeadline = timerAfter(elapsedMs, command.timeoutMs, () => {
    // After the deadline only stragglers holding the output pipes may be left if it already exited.
    timedOut = !exited;
    killGroup('SIGTERM');
    killTimer = setTimeout(() => {
      killGroup('SIGKILL');
      // A process that left the group (setsid) may still hold the pipes: stop reading them.
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    }, KILL_AFTER_MS);
  });

  const result = await subprocess;
  cancelDeadline();
  clearTimeout(killTimer);
  if (result.exitCode === undefined && result.signal === undefined) throw new SpawnFailedError(line, result.cause ?? result);
  return {
    command: line,
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
    startedAt: startedAt.toISOString(),
    durationMs: elapsedMs(),
    timedOut,
    outcomeUnknown: false,
  };
}
