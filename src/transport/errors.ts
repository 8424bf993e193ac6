import { SoarError } from '../errors.js';
import type { ExecResult } from './transport.js';

/**
 * Errors a transport throws when a command was never sent (the host was not reached, or was not
 * trusted), and the errors `requireExit` throws for callers that want throw-semantics.
 */

/** Where soar tried to connect, for messages: `web-1 (root@198.18.0.2:22)`. */
export interface Endpoint {
  name: string;
  address: string;
  port: number;
  user: string;
}

function describeEndpoint(endpoint: Endpoint): string {
  return `${endpoint.name} (${endpoint.user}@${endpoint.address}:${endpoint.port})`;
}

/** A host key as the host offered it or as a known_hosts line pins it. */
export interface HostKeyDescription {
  /** The key's own type, e.g. `ssh-ed25519`. */
  type: string;
  /** `SHA256:` and unpadded base64 of sha256(key blob), as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

export interface PinnedKey extends HostKeyDescription {
  file: string;
  line: number;
}

export class HostNotInInventoryError extends SoarError {
  constructor(hostName: string) {
    super('HOST_NOT_IN_INVENTORY', `host "${hostName}" is not in the inventory: add it under hosts: in the soar config (address, user, identity_file)`);
  }
}

export class ConnectionRefusedError extends SoarError {
  constructor(endpoint: Endpoint, cause: unknown) {
    super(
      'CONNECTION_REFUSED',
      `${describeEndpoint(endpoint)} refused the connection: check that sshd runs there and listens on port ${endpoint.port}, and that no firewall rejects soar`,
      { retryable: true, cause },
    );
  }
}

export class DnsFailureError extends SoarError {
  constructor(endpoint: Endpoint, cause: unknown) {
    super(
      'DNS_FAILURE',
      `cannot resolve ${endpoint.address} for host ${endpoint.name}: fix the address in the inventory or the runner's DNS (${(cause as Error).message})`,
      { retryable: true, cause },
    );
  }
}

/** The network path failed (unreachable, reset, jump host could not forward) before SSH began. */
export class ConnectionFailedError extends SoarError {
  constructor(endpoint: Endpoint, detail: string, cause?: unknown) {
    super(
      'CONNECTION_FAILED',
      `cannot reach ${describeEndpoint(endpoint)}: ${detail}; check the route from the runner (or its jump host) to the host`,
      { retryable: true, cause },
    );
  }
}

export class ConnectTimeoutError extends SoarError {
  constructor(endpoint: Endpoint, timeoutMs: number, cause?: unknown) {
    super(
      'CONNECT_TIMEOUT',
      `${describeEndpoint(endpoint)} did not complete the SSH handshake within ${timeoutMs} ms: the host or its sshd may be hung or overloaded; check it out of band or raise connect_timeout`,
      { retryable: true, cause },
    );
  }
}

export class HandshakeFailedError extends SoarError {
  constructor(endpoint: Endpoint, detail: string, cause?: unknown) {
    super(
      'HANDSHAKE_FAILED',
      `SSH handshake with ${describeEndpoint(endpoint)} failed: ${detail}; check that the port speaks SSH and that sshd's algorithms overlap with soar's`,
      { retryable: true, cause },
    );
  }
}

export class AuthFailedError extends SoarError {
  constructor(endpoint: Endpoint, method: string, cause?: unknown) {
    super(
      'AUTH_FAILED',
      `${describeEndpoint(endpoint)} refused authentication as "${endpoint.user}" with ${method}: put the public key in ~${endpoint.user}/.ssh/authorized_keys on the host, or fix user/identity_file in the inventory`,
      { cause },
    );
  }
}

/** The configured credentials cannot be used at all (no key, unreadable key, wrong passphrase). */
export class CredentialsError extends SoarError {
  constructor(endpoint: Endpoint, detail: string, cause?: unknown) {
    super('CREDENTIALS_UNUSABLE', `cannot authenticate to ${describeEndpoint(endpoint)}: ${detail}`, { cause });
  }
}

export class KnownHostsUnreadableError extends SoarError {
  constructor(file: string, cause: unknown) {
    super(
      'KNOWN_HOSTS_UNREADABLE',
      `cannot read the known_hosts file ${file} (${(cause as Error).message}): soar connects only to hosts whose keys are pinned there; fix known_hosts in the config`,
      { cause },
    );
  }
}

function keyLine(key: HostKeyDescription): string {
  return `${key.type} key ${key.fingerprint}`;
}

function removeHint(endpoint: Endpoint, file: string): string {
  const name = endpoint.port === 22 ? endpoint.address : `[${endpoint.address}]:${endpoint.port}`;
  return `ssh-keygen -R '${name}' -f ${file}`;
}

/** Base of the three refusals: the host was not trusted, so nothing was authenticated or sent. */
export abstract class HostKeyRefusedError extends SoarError {
  readonly offered: HostKeyDescription;
  readonly knownHostsFile: string;
  constructor(code: string, message: string, offered: HostKeyDescription, knownHostsFile: string) {
    super(code, message);
    this.offered = offered;
    this.knownHostsFile = knownHostsFile;
  }
}

export class HostKeyUnknownError extends HostKeyRefusedError {
  constructor(endpoint: Endpoint, offered: HostKeyDescription, knownHostsFile: string) {
    super(
      'HOST_KEY_UNKNOWN',
      `${describeEndpoint(endpoint)} offered ${keyLine(offered)}, which is not pinned in ${knownHostsFile}; refused before authenticating. ` +
        `Compare it out of band with the host's own key (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the console), then add that key's line to ${knownHostsFile}`,
      offered,
      knownHostsFile,
    );
  }
}

export class HostKeyChangedError extends HostKeyRefusedError {
  readonly pinned: readonly PinnedKey[];
  constructor(endpoint: Endpoint, offered: HostKeyDescription, knownHostsFile: string, pinned: readonly PinnedKey[]) {
    const where = pinned.map((key) => `${key.file}:${key.line} (${keyLine(key)})`).join(', ');
    super(
      'HOST_KEY_CHANGED',
      `HOST KEY CHANGED for ${describeEndpoint(endpoint)}: it offered ${keyLine(offered)}, but ${where} pins another key; refused before authenticating. ` +
        `Someone may be intercepting the connection, or the host was re-keyed. Verify the new fingerprint out of band; only if it is genuine, ` +
        `remove the old pin (${removeHint(endpoint, knownHostsFile)}) and add the verified key`,
      offered,
      knownHostsFile,
    );
    this.pinned = pinned;
  }
}

export class HostKeyRevokedError extends HostKeyRefusedError {
  readonly revokedAt: { file: string; line: number };
  constructor(endpoint: Endpoint, offered: HostKeyDescription, knownHostsFile: string, line: number) {
    super(
      'HOST_KEY_REVOKED',
      `${describeEndpoint(endpoint)} offered ${keyLine(offered)}, which ${knownHostsFile}:${line} marks @revoked; refused before authenticating. ` +
        `Treat the host as compromised until it has new host keys (ssh-keygen -A after removing the revoked ones), then pin the new key after verifying it out of band`,
      offered,
      knownHostsFile,
    );
    this.revokedAt = { file: knownHostsFile, line };
  }
}

export class ChannelOpenFailedError extends SoarError {
  constructor(endpoint: Endpoint, detail: string, cause?: unknown) {
    super(
      'CHANNEL_OPEN_FAILED',
      `${describeEndpoint(endpoint)} refused to start the command (${detail}); the command did not run. ` +
        `If sshd's MaxSessions is below this host's max_sessions in the inventory, lower max_sessions`,
      { retryable: true, cause },
    );
  }
}

/** A local program could not be started at all (not found, not executable). */
export class SpawnFailedError extends SoarError {
  constructor(command: string, cause: unknown) {
    super('SPAWN_FAILED', `cannot start \`${command}\` on the runner (${(cause as Error).message}): install the program or fix its path`, { cause });
  }
}

/** The link dropped after the connection was up but before the command could be sent. */
export class ConnectionLostError extends SoarError {
  constructor(endpoint: Endpoint, cause?: unknown) {
    super('CONNECTION_LOST', `the connection to ${describeEndpoint(endpoint)} closed before the command was sent; the command did not run, retry it`, {
      retryable: true,
      cause,
    });
  }
}

export class ProbeFailedError extends SoarError {
  constructor(hostName: string, result: ExecResult) {
    super(
      'PROBE_FAILED',
      `a new SSH connection to ${hostName} was made, but \`${result.command}\` exited ${result.exitCode ?? result.signal}: ${result.stderr.trim() || 'no stderr'}; management access is not proven`,
      { retryable: true },
    );
  }
}

export class OutcomeUnknownError extends SoarError {
  readonly result: ExecResult;
  constructor(result: ExecResult) {
    super(
      'OUTCOME_UNKNOWN',
      `the link died before \`${result.command}\` reported an exit status: it may or may not have run to the end; check its effect on the host before running it again`,
      { retryable: false },
    );
    this.result = result;
  }
}

export class CommandTimeoutError extends SoarError {
  readonly result: ExecResult;
  constructor(result: ExecResult) {
    super(
      'COMMAND_TIMEOUT',
      `\`${result.command}\` ran past its time limit and was stopped after ${result.durationMs} ms; its effect may be partial, check it on the host, or raise the step's timeout`,
      { retryable: false },
    );
    this.result = result;
  }
}

export class CommandKilledError extends SoarError {
  readonly result: ExecResult;
  constructor(result: ExecResult) {
    super('COMMAND_KILLED', `\`${result.command}\` was killed by ${result.signal}; its effect may be partial, check it on the host`);
    this.result = result;
  }
}

/**
 * For callers that want throw-semantics: returns the result when the program exited by itself
 * (with any status) and throws when it timed out, was killed, or its outcome is unknown.
 */
export function requireExit(result: ExecResult): ExecResult & { exitCode: number } {
  if (result.outcomeUnknown) throw new OutcomeUnknownError(result);
  if (result.timedOut) throw new CommandTimeoutError(result);
  if (result.exitCode === null) throw new CommandKilledError(result);
  return result as ExecResult & { exitCode: number };
}
