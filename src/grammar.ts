import { SocketAddress } from 'node:net';
import { posix } from 'node:path';

/**
 * The grammars of the things alert fields name. Alert data is hostile: a value is used only if
 * it matches the grammar of what it claims to be, and these grammars are deliberately stricter
 * than the kernel or systemd (ASCII only, no shell metacharacters, bounded length).
 */

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens; 253 at most. */
export const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * A systemd unit name (systemd.unit(5)): letters, digits, ":_.-" and "@" for template instances,
 * a known suffix, 255 characters at most. Backslash escapes are refused, as is a leading "-" or ".".
 */
export const SYSTEMD_UNIT_NAME =
  /^(?=.{1,255}$)[A-Za-z0-9_:][A-Za-z0-9:_.@-]*\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `host.id` as agents write it (hex or a UUID): letters, digits and hyphens, 64 at most. */
export const HOST_ID = /^[A-Za-z0-9-]{1,64}$/;

/** An alert id (`kibana.alert.uuid`, the hit's `_id`): a hash, a UUID or an Elasticsearch id. */
export const ALERT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Characters allowed in one path segment: no whitespace, quotes, shell metacharacters or non-ASCII. */
const PATH_SEGMENT = /^[A-Za-z0-9._+@:,=-]{1,255}$/;
const PATH_MAX = 4096;

/** An absolute path with no `.`/`..` segments, no `//`, no trailing slash (other than `/`). */
export function isNormalAbsolutePath(value: string): boolean {
  if (value.length === 0 || value.length > PATH_MAX || !value.startsWith('/')) return false;
  if (value === '/') return true;
  if (posix.normalize(value) !== value || value.endsWith('/')) return false;
  return value
    .slice(1)
    .split('/')
    .every((segment) => segment !== '.' && segment !== '..' && PATH_SEGMENT.test(segment));
}

/** Linux PIDs are 1 … 2^22 (the kernel's PID_MAX_LIMIT on 64-bit). */
export const PID_MAX = 4_194_304;

export function isPid(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1 && value <= PID_MAX;
}

/**
 * The family of a literal IPv4 or IPv6 address without a zone index, else 0. The C library's
 * inet_pton decides (as net.isIP's regular expressions do, but without the ~10 ms it takes V8 to
 * compile the IPv6 one at a process's first IPv6 address).
 */
export function ipFamily(value: string): 0 | 4 | 6 {
  if (value.length > 45 || value.includes('%')) return 0;
  const family = value.includes(':') ? 'ipv6' : 'ipv4';
  try {
    new SocketAddress({ address: value, family });
  } catch {
    return 0;
  }
  return family === 'ipv6' ? 6 : 4;
}

/** A literal IPv4 or IPv6 address, without a zone index. */
export function isIpAddress(value: string): boolean {
  return ipFamily(value) !== 0;
}

export function isHostName(value: string): boolean {
  return HOST_NAME.test(value);
}

export function isUnitName(value: string): boolean {
  return SYSTEMD_UNIT_NAME.test(value);
}

/** Printable text with no control characters, for free-form evidence (never put in a command). */
export function isPrintableText(value: string, maxLength: number): boolean {
  return value.length <= maxLength && !/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(value);
}
