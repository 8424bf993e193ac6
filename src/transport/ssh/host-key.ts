import { createHash } from 'node:crypto';

/**
 * Facts about an SSH public key blob (RFC 4253 §6.6: a length-prefixed type name, then the key),
 * as the host offers it in the handshake and as a known_hosts line pins it.
 */

/** `SHA256:` + unpadded base64 of sha256(blob): what `ssh-keygen -lf` prints. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The type name at the start of a blob (`ssh-ed25519`, `ssh-rsa` …), or undefined if malformed. */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return undefined;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** ssh2's default host key algorithms, most preferred first (`ssh-dss` only when pinned). */
const DEFAULT_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] as const;
export type HostKeyAlgorithm = (typeof DEFAULT_ALGORITHMS)[number] | 'ssh-dss';

/**
 * Host key algorithms to offer, those yielding the pinned key types first: OpenSSH does the same,
 * so a host with several keys shows the pinned one instead of looking "changed".
 */
export function hostKeyAlgorithms(pinnedKeyTypes: readonly string[]): HostKeyAlgorithm[] {
  const pinned = pinnedKeyTypes.flatMap((type): HostKeyAlgorithm[] => {
    if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
    if (type === 'ssh-dss') return ['ssh-dss'];
    return DEFAULT_ALGORITHMS.filter((algorithm) => algorithm === type);
  });
  return [...new Set([...pinned, ...DEFAULT_ALGORITHMS])];
}
