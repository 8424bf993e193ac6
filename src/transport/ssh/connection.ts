import type { Duplex } from 'node:stream';
import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import {
  AuthFailedError,
  ConnectionFailedError,
  ConnectionRefusedError,
  ConnectTimeoutError,
  CredentialsError,
  DnsFailureError,
  HandshakeFailedError,
  HostKeyChangedError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  type Endpoint,
} from '../errors.js';
import type { Credentials } from './credentials.js';
import { blobKeyType, fingerprint, hostKeyAlgorithms } from './host-key.js';
import { checkHostKey, entriesFor, type HostKeyVerdict, type KnownHosts } from './known-hosts.js';
import type { Logger } from '../../log.js';

/** A dead link is noticed after about three missed keepalives, instead of hanging forever. */
const KEEPALIVE_INTERVAL_MS = 5_000;
const KEEPALIVE_COUNT_MAX = 3;

export interface ConnectOptions {
  endpoint: Endpoint;
  knownHosts: KnownHosts;
  credentials: Credentials;
  /** Limit for TCP connect, handshake and authentication together. */
  readyTimeoutMs: number;
  /** An already open stream to the host (a tunnel through a jump host) instead of a TCP connect. */
  sock?: Duplex;
  logger: Logger;
}

/**
 * Opens one authenticated SSH connection. The host key is judged against known_hosts during key
 * exchange, so an untrusted host is dropped before soar authenticates or opens any channel.
 */
export function openConnection(options: ConnectOptions): Promise<Client> {
  const { endpoint, knownHosts, credentials, logger } = options;
  const client = new ssh2.Client();
  let verdict: { status: HostKeyVerdict['status']; error?: Error } | undefined;

  const hostVerifier = (key: Buffer): boolean => {
    const judged = checkHostKey(knownHosts, endpoint.address, endpoint.port, key);
    const offered = { type: blobKeyType(key) ?? 'unknown-type', fingerprint: fingerprint(key) };
    verdict = { status: judged.status, error: refusal(judged, endpoint, offered, knownHosts.file) };
    logger.debug({ hostKey: offered.fingerprint, verdict: judged.status }, 'host key checked');
    return judged.status === 'trusted';
  };

  const pinnedTypes = entriesFor(knownHosts, endpoint.address, endpoint.port)
    .filter((entry) => !entry.revoked)
    .map((entry) => entry.keyType);
  const config: ConnectConfig = {
    host: endpoint.address,
    port: endpoint.port,
    username: endpoint.user,
    readyTimeout: options.readyTimeoutMs,
    keepaliveInterval: KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    hostVerifier,
    algorithms: { serverHostKey: hostKeyAlgorithms(pinnedTypes) },
    ...(options.sock ? { sock: options.sock as ConnectConfig['sock'] } : {}),
    ...(credentials.kind === 'identity'
      ? { privateKey: credentials.privateKey, ...(credentials.passphrase === undefined ? {} : { passphrase: credentials.passphrase }), authHandler: ['publickey'] }
      : { agent: credentials.socket, authHandler: ['agent'] }),
  };

  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(error);
    };
    client.on('ready', () => {
      settled = true;
      logger.debug('connected');
      resolve(client);
    });
    client.on('error', (error: Error & { level?: string; code?: string | number }) => {
      if (settled) {
        logger.warn({ err: error }, 'ssh connection error');
        return;
      }
      fail(verdict?.error ?? classify(error, endpoint, options.readyTimeoutMs, credentials));
    });
    client.on('close', () => fail(verdict?.error ?? new HandshakeFailedError(endpoint, 'the host closed the connection before authentication completed')));
    try {
      client.connect(config);
      // SSH here is request and answer: Nagle's algorithm would hold each small packet until the
      // host's delayed ACK (40 ms) came back, several times per connection.
      client.setNoDelay(true);
    } catch (error) {
      fail(new HandshakeFailedError(endpoint, `ssh2 refused the connection settings (${(error as Error).message})`, error));
    }
  });
}

function refusal(verdict: HostKeyVerdict, endpoint: Endpoint, offered: { type: string; fingerprint: string }, file: string): Error | undefined {
  switch (verdict.status) {
    case 'trusted':
      return undefined;
    case 'unknown':
      return new HostKeyUnknownError(endpoint, offered, file);
    case 'revoked':
      return new HostKeyRevokedError(endpoint, offered, file, verdict.entry.line);
    case 'changed':
      return new HostKeyChangedError(
        endpoint,
        offered,
        file,
        verdict.pinned.map((entry) => ({ file, line: entry.line, type: entry.keyType, fingerprint: fingerprint(entry.key) })),
      );
  }
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);

/** Maps an ssh2 connection error (tagged with a `level`) to soar's typed errors. */
function classify(error: Error & { level?: string; code?: string | number }, endpoint: Endpoint, readyTimeoutMs: number, credentials: Credentials): Error {
  switch (error.level) {
    case 'client-socket':
      if (error.code === 'ECONNREFUSED') return new ConnectionRefusedError(endpoint, error);
      if (typeof error.code === 'string' && DNS_CODES.has(error.code)) return new DnsFailureError(endpoint, error);
      return new ConnectionFailedError(endpoint, error.message, error);
    case 'client-dns':
      return new DnsFailureError(endpoint, error);
    case 'client-timeout':
      return new ConnectTimeoutError(endpoint, readyTimeoutMs, error);
    case 'client-authentication':
      return new AuthFailedError(endpoint, credentials.description, error);
    case 'agent':
      return new CredentialsError(endpoint, `the ssh-agent at ${credentials.kind === 'agent' ? credentials.socket : 'SSH_AUTH_SOCK'} failed (${error.message}): check that it runs and holds the key`, error);
    default:
      return new HandshakeFailedError(endpoint, error.message, error);
  }
}
