import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/config.js';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Compares a presented secret with the expected one in constant time (equal-length digests, so length leaks nothing). */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * The analyst whose API token this is (config approvers.<name>.token_sha256), or undefined.
 * Every approver is compared, in constant time each, so the answer's timing names nobody.
 */
export function analystOfToken(config: Config, token: string): string | undefined {
  const presented = digest(token);
  let analyst: string | undefined;
  for (const [name, approver] of Object.entries(config.approvers)) {
    if (approver.token_sha256 === undefined) continue;
    if (timingSafeEqual(presented, Buffer.from(approver.token_sha256, 'hex')) && analyst === undefined) analyst = name;
  }
  return analyst;
}

/** The token of an `Authorization: Bearer <token>` header, if it has that form. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([\x21-\x7e]{16,512})$/.exec(header ?? '');
  return match?.[1];
}
