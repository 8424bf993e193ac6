import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { readSecret, resolveConfigPath, type Config, type HostEntry } from '../../config/config.js';
import { CredentialsError, type Endpoint } from '../errors.js';
import { fingerprint } from './host-key.js';

/** How soar proves who it is to one host: one private key, or the keys of an ssh-agent. */
export type Credentials =
  | { kind: 'identity'; privateKey: Buffer; passphrase: string | undefined; description: string }
  | { kind: 'agent'; socket: string; description: string };

/**
 * An identity file (with its passphrase from a secret) when the inventory names one, else the
 * agent at SSH_AUTH_SOCK. Read at connect time so rotated keys take effect without a restart.
 */
export async function loadCredentials(config: Config, host: HostEntry, endpoint: Endpoint): Promise<Credentials> {
  if (host.identity_file === undefined) {
    const socket = process.env.SSH_AUTH_SOCK;
    if (!socket) {
      throw new CredentialsError(endpoint, 'the inventory names no identity_file for it and SSH_AUTH_SOCK is not set: set identity_file, or start ssh-agent and add the key');
    }
    return { kind: 'agent', socket, description: `the keys of ssh-agent at ${socket}` };
  }
  const file = resolveConfigPath(config, host.identity_file);
  let privateKey: Buffer;
  try {
    privateKey = await readFile(file);
  } catch (error) {
    throw new CredentialsError(endpoint, `cannot read identity file ${file} (${(error as Error).message}): fix identity_file in the inventory`, error);
  }
  const passphrase = host.passphrase === undefined ? undefined : await readSecret(config, host.passphrase, `passphrase of ${file}`);
  const parsed = ssh2.utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error || key.isPrivateKey() === false) {
    const reason = key instanceof Error ? key.message : 'no private key in it';
    const hint = passphrase === undefined ? 'if it is encrypted, set passphrase in the inventory' : 'check the passphrase';
    throw new CredentialsError(endpoint, `identity file ${file} cannot be used (${reason}): ${hint}`, key instanceof Error ? key : undefined);
  }
  return { kind: 'identity', privateKey, passphrase, description: `identity file ${file} (${key.type} ${fingerprint(key.getPublicSSH())})` };
}
