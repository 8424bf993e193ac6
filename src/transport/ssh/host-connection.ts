import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'ssh2';
import type { Command } from '../../command/command.js';
import { ChannelOpenFailedError, ConnectionLostError, type Endpoint } from '../errors.js';
import type { ExecResult, Transport } from '../transport.js';
import { ChannelSlots } from './channels.js';
import { execOnConnection } from './exec.js';
import { remoteInvocation } from '../../command/remote.js';
import type { Logger } from '../../log.js';

export interface HostConnectionOptions {
  endpoint: Endpoint;
  maxSessions: number;
  capBytes: number;
  /** Opens a new authenticated connection to the host (direct or through its jump host). */
  open: () => Promise<Client>;
  logger: Logger;
}

/**
 * sshd frees a finished session only a moment after its channel closes, so an open sent right then
 * is refused: nothing ran, so it is retried after these pauses. Far shorter than any command, so a
 * max_sessions above sshd's MaxSessions still fails loudly.
 */
const OPEN_RETRY_DELAYS_MS = [10, 40, 100];

/**
 * The transport for one host: one SSH connection, opened on first use and reused by every step,
 * reopened after it drops, with at most `maxSessions` commands on it at once.
 */
export class HostConnection implements Transport {
  readonly #options: HostConnectionOptions;
  readonly #slots: ChannelSlots;
  #client: Promise<Client> | undefined;
  readonly #closed = new WeakSet<Client>();

  constructor(options: HostConnectionOptions) {
    this.#options = options;
    this.#slots = new ChannelSlots(options.maxSessions);
  }

  /** The live connection, opened if there is none; a failed attempt is not cached. */
  connection(): Promise<Client> {
    if (this.#client) return this.#client;
    const attempt = this.#options.open().then((client) => {
      client.once('close', () => {
        this.#closed.add(client);
        this.#forget(attempt);
        this.#options.logger.debug('connection closed');
      });
      return client;
    });
    attempt.catch(() => this.#forget(attempt));
    this.#client = attempt;
    return attempt;
  }

  #forget(attempt: Promise<Client>): void {
    if (this.#client === attempt) this.#client = undefined;
  }

  async exec(command: Command): Promise<ExecResult> {
    const invocation = remoteInvocation(command, this.#options.endpoint.user);
    const run = (client: Client): Promise<ExecResult> =>
      execOnConnection(client, invocation, command.stdin, {
        endpoint: this.#options.endpoint,
        capBytes: this.#options.capBytes,
        linkClosed: () => this.#closed.has(client),
      });
    return this.#slots.run(async () => {
      for (const delayMs of OPEN_RETRY_DELAYS_MS) {
        try {
          return await this.#onLiveConnection(run);
        } catch (error) {
          if (!(error instanceof ChannelOpenFailedError)) throw error;
          this.#options.logger.debug({ delayMs }, 'sshd refused a channel; retrying');
          await sleep(delayMs);
        }
      }
      return this.#onLiveConnection(run);
    });
  }

  async #onLiveConnection(run: (client: Client) => Promise<ExecResult>): Promise<ExecResult> {
    const attempt = this.connection();
    try {
      return await run(await attempt);
    } catch (error) {
      // Nothing reached the host: the reused link had died unnoticed, so one fresh link may try again.
      if (!(error instanceof ConnectionLostError)) throw error;
      this.#forget(attempt);
      (await attempt).end();
      this.#options.logger.info('connection was gone before the command was sent; reconnecting once');
      return run(await this.connection());
    }
  }

  async close(): Promise<void> {
    const pending = this.#client;
    this.#client = undefined;
    const client = await pending?.catch(() => undefined);
    if (!client || this.#closed.has(client)) return;
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.end();
    });
  }
}
