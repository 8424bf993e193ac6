import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KnownHostsUnreadableError } from '../errors.js';
import { blobKeyType } from './host-key.js';

/**
 * OpenSSH known_hosts (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): `[marker] hosts keytype base64 [comment]`.
 * Hosts are a comma list of patterns (`*`, `?`, `!negation`, `[host]:port` for other ports) or one
 * hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. Lines soar cannot use are kept
 * with the reason, never silently trusted.
 */

export type HostPatterns = { kind: 'hashed'; salt: Buffer; hash: Buffer } | { kind: 'patterns'; patterns: string[] };

export interface KnownHostsEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  revoked: boolean;
  hosts: HostPatterns;
  keyType: string;
  key: Buffer;
}

export interface KnownHosts {
  file: string;
  entries: KnownHostsEntry[];
  ignored: Array<{ line: number; reason: string }>;
}

export type HostKeyVerdict =
  | { status: 'trusted'; entry: KnownHostsEntry }
  | { status: 'revoked'; entry: KnownHostsEntry }
  /** Keys are pinned for this host, none of them is the one offered. */
  | { status: 'changed'; pinned: KnownHostsEntry[] }
  | { status: 'unknown' };

export async function readKnownHosts(file: string): Promise<KnownHosts> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new KnownHostsUnreadableError(file, error);
  }
  return parseKnownHosts(text, file);
}

export function parseKnownHosts(text: string, file: string): KnownHosts {
  const knownHosts: KnownHosts = { file, entries: [], ignored: [] };
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) return;
    const parsed = parseLine(content, line);
    if (typeof parsed === 'string') knownHosts.ignored.push({ line, reason: parsed });
    else knownHosts.entries.push(parsed);
  });
  return knownHosts;
}

/** The entry for one line, or why the line is not used. */
function parseLine(content: string, line: number): KnownHostsEntry | string {
  const fields = content.split(/[ \t]+/);
  let revoked = false;
  if (fields[0]?.startsWith('@')) {
    const marker = fields.shift();
    if (marker === '@cert-authority') return '@cert-authority lines are not used: soar pins each host\'s own key, add the host key itself';
    if (marker !== '@revoked') return `unknown marker ${marker}`;
    revoked = true;
  }
  const [hostField, keyType, keyText] = fields;
  if (hostField === undefined || keyType === undefined || keyText === undefined) return 'expected: hosts keytype base64-key';
  const hosts = parseHosts(hostField);
  if (typeof hosts === 'string') return hosts;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyText)) return 'the key is not base64';
  const key = Buffer.from(keyText, 'base64');
  const blobType = blobKeyType(key);
  if (blobType === undefined) return 'the key is not an SSH public key blob';
  if (blobType !== keyType) return `the line says ${keyType} but the key is ${blobType}`;
  return { line, revoked, hosts, keyType, key };
}

function parseHosts(field: string): HostPatterns | string {
  if (field.startsWith('|')) {
    const match = /^\|1\|([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})$/.exec(field);
    if (!match) return 'hashed host name is not |1|salt|hash';
    const salt = Buffer.from(match[1] as string, 'base64');
    const hash = Buffer.from(match[2] as string, 'base64');
    if (salt.length !== 20 || hash.length !== 20) return 'hashed host name: salt and hash must be 20 bytes (HMAC-SHA1)';
    return { kind: 'hashed', salt, hash };
  }
  const patterns = field.split(',');
  if (patterns.some((pattern) => pattern === '' || pattern === '!')) return 'empty host pattern';
  return { kind: 'patterns', patterns };
}

/** The name known_hosts files record a host under: `host`, or `[host]:port` off port 22. */
function knownHostsName(address: string, port: number): string {
  const host = address.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

function entryMatches(entry: KnownHostsEntry, name: string): boolean {
  const { hosts } = entry;
  if (hosts.kind === 'hashed') {
    const digest = createHmac('sha1', hosts.salt).update(name).digest();
    return timingSafeEqual(digest, hosts.hash);
  }
  // OpenSSH: any matching negated pattern vetoes the line, else one positive match suffices.
  let matched = false;
  for (const pattern of hosts.patterns) {
    const negated = pattern.startsWith('!');
    if (!wildcardMatch(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `*` is any run of characters, `?` any one; everything else literal, case-insensitive. */
function wildcardMatch(pattern: string, name: string): boolean {
  const source = [...pattern.toLowerCase()]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'su').test(name);
}

export function entriesFor(knownHosts: KnownHosts, address: string, port: number): KnownHostsEntry[] {
  const name = knownHostsName(address, port);
  return knownHosts.entries.filter((entry) => entryMatches(entry, name));
}

/** Judges the key a host offered: revoked beats pinned, any other pin makes it "changed". */
export function checkHostKey(knownHosts: KnownHosts, address: string, port: number, offered: Buffer): HostKeyVerdict {
  const entries = entriesFor(knownHosts, address, port);
  const revoked = entries.find((entry) => entry.revoked && entry.key.equals(offered));
  if (revoked) return { status: 'revoked', entry: revoked };
  const pinned = entries.filter((entry) => !entry.revoked);
  const trusted = pinned.find((entry) => entry.key.equals(offered));
  if (trusted) return { status: 'trusted', entry: trusted };
  return pinned.length > 0 ? { status: 'changed', pinned } : { status: 'unknown' };
}
