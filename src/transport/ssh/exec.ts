import type { Client, ClientChannel } from 'ssh2';
import { ChannelOpenFailedError, ConnectionLostError, type Endpoint } from '../errors.js';
import { stopwatch, timerAfter } from '../clock.js';
import { CappedOutput } from '../output.js';
import type { ExecResult } from '../transport.js';
import type { RemoteInvocation } from '../../command/remote.js';

export interface ExecOptions {
  endpoint: Endpoint;
  capBytes: number;
  /** Whether the connection has closed (its owner watches it, so no listener per command). */
  linkClosed: () => boolean;
}

interface Exit {
  exitCode: number | null;
  signal: string | null;
}

/** What `timeout` leaves when it had to stop the program: status 124, or death by SIGKILL after -k. */
function stoppedByTimeout(exit: Exit, elapsedMs: number, limitMs: number): boolean {
  return elapsedMs >= limitMs && (exit.exitCode === 124 || exit.signal === 'SIGKILL');
}

/**
 * Runs one invocation on an open connection. Throws only when the command surely never reached
 * the host; once it may have, resolves with the exit status, or with `outcomeUnknown` when the
 * link died (or the client deadline passed) before one arrived.
 */
export function execOnConnection(client: Client, invocation: RemoteInvocation, stdin: string | undefined, options: ExecOptions): Promise<ExecResult> {
  const { endpoint } = options;
  const stdout = new CappedOutput(options.capBytes);
  const stderr = new CappedOutput(options.capBytes);
  const startedAt = new Date();
  const elapsedMs = stopwatch();

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let channel: ClientChannel | undefined;
    let exit: Exit | undefined;

    const cleanup = (): void => {
      settled = true;
      cancelDeadline();
    };
    const finish = (deadlinePassed: boolean): void => {
      if (settled) return;
      cleanup();
      const durationMs = elapsedMs();
      resolve({
        command: invocation.line,
        exitCode: exit?.exitCode ?? null,
        signal: exit?.signal ?? null,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        startedAt: startedAt.toISOString(),
        durationMs,
        timedOut: exit ? stoppedByTimeout(exit, durationMs, invocation.limitMs) : deadlinePassed,
        outcomeUnknown: exit === undefined,
      });
    };
    const neverSent = (error: Error): void => {
      if (settled) return;
      cleanup();
      reject(error);
    };

    // The host's `timeout` should have ended the program long before: stop waiting, whatever the link does.
    const cancelDeadline = timerAfter(elapsedMs, invocation.deadlineMs, () => {
      channel?.close();
      finish(true);
    });

    try {
      client.exec(invocation.line, (error, opened) => {
        if (error) {
          onExecError(error);
          return;
        }
        channel = opened;
        if (settled) {
          opened.close();
          return;
        }
        opened.on('data', (chunk: Buffer) => stdout.push(chunk));
        opened.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        opened.on('error', () => {});
        opened.on('exit', (code: number | null, signal?: string) => {
          exit = { exitCode: typeof code === 'number' ? code : null, signal: signal ?? null };
        });
        opened.on('close', () => finish(false));
        opened.end(stdin);
      });
    } catch (error) {
      neverSent(new ConnectionLostError(endpoint, error));
    }

    function onExecError(error: Error): void {
      // ssh2 names the stage that failed: opening the channel (nothing sent) or the exec request.
      const linkClosed = options.linkClosed();
      if (error.message !== 'Unable to exec') {
        neverSent(linkClosed ? new ConnectionLostError(endpoint, error) : new ChannelOpenFailedError(endpoint, error.message, error));
      } else if (linkClosed) {
        finish(false);
      } else {
        neverSent(new ChannelOpenFailedError(endpoint, 'sshd refused the exec request', error));
      }
    }
  });
}
