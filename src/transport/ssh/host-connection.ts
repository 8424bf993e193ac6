import type { Logger } from 'pino';
import type { Client } from 'ssh2';
import type { Command } from '../../command/command.js';
import { ConnectionLostError, type Endpoint } from '../errors.js';
import type { ExecResult, Transport } from '../transport.js';
import { ChannelSlots } from './channels.js';
import { execOnConnection } from './exec.js';
import { remoteInvocation } from './remote-command.js';

export interface HostConnectionOptions {
  endpoint: Endpoint;
  maxSessions: number;
  capBytes: number;
  /** Opens a new authenticated connection to the host (direct or through its jump host). */
  open: () => Promise<Client>;
  logger: Logger;
}

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

  exec(command: Command): Promise<ExecResult> {
    const invocation = remoteInvocation(command, this.#options.endpoint.user);
    const options = { endpoint: this.#options.endpoint, capBytes: this.#options.capBytes };
    return this.#slots.run(async () => {
      const attempt = this.connection();
      try {
        return await execOnConnection(await attempt, invocation, command.stdin, options);
      } catch (error) {
        // Nothing reached the host: the reused link had died unnoticed, so one fresh link may try again.
        if (!(error instanceof ConnectionLostError)) throw error;
        this.#forget(attempt);
        (await attempt).end();
        this.#options.logger.info('connection was gone before the command was sent; reconnecting once');
        return execOnConnection(await this.connection(), invocation, command.stdin, options);
      }
    });
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
