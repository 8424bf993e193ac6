import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { resolveConfigPath, type Config, type HostEntry } from '../../config/config.js';
import { SoarError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import {
  ConnectionFailedError,
  ConnectionRefusedError,
  HostNotInInventoryError,
  ProbeFailedError,
  requireExit,
  type Endpoint,
} from '../errors.js';
import { DEFAULT_OUTPUT_CAP_BYTES, type Transport } from '../transport.js';
import { HostConnection } from './host-connection.js';
import { readKnownHosts } from './known-hosts.js';

const PROBE_TIMEOUT_MS = 10_000;

/**
 * SSH access to every host of the inventory: one reused connection per host (opened on first
 * use), host keys pinned in the config's known_hosts, optional jump hosts.
 */
export class SshFleet {
  readonly #config: Config;
  readonly #capBytes: number;
  readonly #logger: Logger;
  readonly #connections = new Map<string, HostConnection>();

  constructor(config: Config, options: { outputCapBytes?: number; logger?: Logger } = {}) {
    this.#config = config;
    this.#capBytes = options.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The transport for an inventory host (by host.name); connects lazily, reuses one connection. */
  transport(hostName: string): Transport {
    return this.#connection(hostName);
  }

  /**
   * Opens a NEW, separate connection, runs `true`, closes it: proof that management access works
   * (isolation uses this before disarming its revert timer). Throws the typed errors of a connection.
   */
  async probe(hostName: string): Promise<void> {
    const probe = this.#newConnection(hostName, 1);
    try {
      const result = requireExit(await probe.exec({ argv: ['true'], timeoutMs: PROBE_TIMEOUT_MS }));
      if (result.exitCode !== 0) throw new ProbeFailedError(hostName, result);
    } finally {
      await probe.close();
    }
  }

  /** Closes a host's reused connection (the next command opens a new one): idle hosts hold none. */
  async release(hostName: string): Promise<void> {
    const connection = this.#connections.get(hostName);
    if (!connection) return;
    this.#connections.delete(hostName);
    await connection.close();
  }

  async close(): Promise<void> {
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(connections.map((connection) => connection.close()));
  }

  #connection(hostName: string): HostConnection {
    let connection = this.#connections.get(hostName);
    if (!connection) {
      connection = this.#newConnection(hostName);
      this.#connections.set(hostName, connection);
    }
    return connection;
  }

  #newConnection(hostName: string, maxSessions?: number): HostConnection {
    const host = this.#host(hostName);
    const endpoint = endpointOf(hostName, host);
    const logger = this.#logger.child({ host: hostName });
    return new HostConnection({
      endpoint,
      maxSessions: maxSessions ?? host.max_sessions,
      capBytes: this.#capBytes,
      logger,
      open: () => this.#open(hostName),
    });
  }

  #host(hostName: string): HostEntry {
    const host = Object.hasOwn(this.#config.hosts, hostName) ? this.#config.hosts[hostName] : undefined;
    if (!host) throw new HostNotInInventoryError(hostName);
    return host;
  }

  /** Opens an authenticated connection to a host, through its jump host if it has one. */
  async #open(hostName: string): Promise<Client> {
    const host = this.#host(hostName);
    this.#refuseJumpLoop(hostName);
    const endpoint = endpointOf(hostName, host);
    const logger = this.#logger.child({ host: hostName });
    const knownHosts = await readKnownHosts(resolveConfigPath(this.#config, this.#config.known_hosts));
    for (const ignored of knownHosts.ignored) logger.warn({ file: knownHosts.file, ...ignored }, 'known_hosts line not used');
    // ssh2 is loaded when soar first connects: status, approve and the other commands that never do start sooner.
    const [{ loadCredentials }, { openConnection }] = await Promise.all([import('./credentials.js'), import('./connection.js')]);
    const credentials = await loadCredentials(this.#config, host, endpoint);
    const sock = host.jump === undefined ? undefined : await this.#tunnel(host.jump, endpoint);
    return openConnection({ endpoint, knownHosts, credentials, readyTimeoutMs: host.connect_timeout, logger, ...(sock ? { sock } : {}) });
  }

  /** A loop of jump hosts would wait on itself forever: refuse it up front. */
  #refuseJumpLoop(hostName: string): void {
    const path = [hostName];
    for (let next = this.#host(hostName).jump; next !== undefined; next = this.#host(next).jump) {
      if (path.includes(next)) throw new SoarError('JUMP_LOOP', `jump hosts loop: ${[...path, next].join(' -> ')}; fix jump: in the inventory`);
      path.push(next);
    }
  }

  /** A TCP stream to `target` opened by the jump host's sshd (direct-tcpip), over the jump's reused connection. */
  async #tunnel(jumpName: string, target: Endpoint): Promise<Duplex> {
    const jump = await this.#connection(jumpName).connection();
    return new Promise((resolve, reject) => {
      try {
        jump.forwardOut('127.0.0.1', 0, target.address, target.port, (error, stream) => {
          if (!error) {
            resolve(stream);
            return;
          }
          const detail = `jump host ${jumpName} could not open a tunnel (${error.message})`;
          reject(/refused/i.test(error.message) ? new ConnectionRefusedError(target, error) : new ConnectionFailedError(target, detail, error));
        });
      } catch (error) {
        reject(new ConnectionFailedError(target, `the connection to jump host ${jumpName} is gone`, error));
      }
    });
  }
}

function endpointOf(name: string, host: HostEntry): Endpoint {
  return { name, address: host.address, port: host.port, user: host.user };
}
