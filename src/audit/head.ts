import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as z from 'zod';
import { canonicalJson } from '../canonical-json.js';
import { SoarError } from '../errors.js';
import { SHA256_HEX } from '../grammar.js';
import type { AuditRecord } from './record.js';

/**
 * The last record the store committed, kept OUTSIDE the audit table: the chain alone cannot show
 * that records were cut from its end (or the file rolled back), the head can.
 */
export interface AuditHead {
  seq: number;
  hash: string;
  /** HMAC-SHA256 over the head when the trail is keyed: without the key a head cannot be forged. */
  mac?: string;
}

const headSchema = z.strictObject({
  seq: z.number().int().min(1),
  hash: z.string().regex(SHA256_HEX),
  mac: z.string().regex(SHA256_HEX).optional(),
});

/** A head file that exists but is not one soar wrote. */
export class AuditHeadError extends SoarError {
  constructor(file: string, problem: string) {
    super('AUDIT_HEAD_INVALID', `the audit head ${file} ${problem}: it was damaged or tampered with; keep it and the store as evidence and compare them with a backup`);
  }
}

/** Where a store's head lives: beside the SQLite file, so a rollback of the file alone shows. */
export function auditHeadFile(store: string): string {
  return `${store}.audit-head`;
}

/** The MAC is over a labelled form, so a record's HMAC can never pass as a head's. */
export function auditHeadMac(head: Pick<AuditHead, 'seq' | 'hash'>, key: Buffer): string {
  return createHmac('sha256', key).update(canonicalJson({ anchor: 'soar audit head', seq: head.seq, hash: head.hash })).digest('hex');
}

export function headMacMatches(head: AuditHead, key: Buffer): boolean {
  if (head.mac === undefined) return false;
  return timingSafeEqual(Buffer.from(head.mac, 'hex'), Buffer.from(auditHeadMac(head, key), 'hex'));
}

/**
 * Records `last` as the store's head: written to a temporary file, fsync'd, renamed over the old
 * head and the directory fsync'd, so a crash leaves either the old head or the new one.
 * Call it after commits that appended audit records (never before), with the last record appended.
 */
export function writeAuditHead(store: string, last: Pick<AuditRecord, 'seq' | 'hash'>, key?: Buffer): void {
  const file = auditHeadFile(store);
  const head: AuditHead = { seq: last.seq, hash: last.hash, ...(key ? { mac: auditHeadMac(last, key) } : {}) };
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(head)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  const directory = openSync(dirname(file), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

/** The store's head, or undefined when it has none (a store written before heads, or deleted). */
export function readAuditHead(store: string): AuditHead | undefined {
  const file = auditHeadFile(store);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SoarError('AUDIT_HEAD_UNREADABLE', `cannot read the audit head ${file}: ${(error as Error).message}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuditHeadError(file, 'is not JSON');
  }
  const parsed = headSchema.safeParse(value);
  if (!parsed.success) throw new AuditHeadError(file, 'is not a head ({seq, hash, mac?})');
  return parsed.data;
}
