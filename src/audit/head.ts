import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fdatasync, fdatasyncSync, fstatSync, fsyncSync, openSync, readSync, statSync, writeSync } from 'node:fs';
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

/** Bytes of each of the head file's two slots: a head with its MAC is about 170. */
const SLOT = 256;

/**
 * Writes a store's head in place, in the slot of two that does not hold the newest head, and
 * fdatasyncs it: a write cut short by a crash spoils only its own slot, and the reader takes the
 * other. No rename, no directory sync; and the fdatasync runs in libuv's pool, off the event loop:
 * under intake load the head, written after every turn of commits, cost a sixth of an admission.
 * A head asked for while the last one is still being synced waits for that sync (so the other
 * slot always holds a head on disk), and only the newest of those waiting is written.
 */
export class AuditHeadWriter {
  readonly #store: string;
  readonly #file: string;
  #fd: number | undefined;
  #inode: { dev: number; ino: number } | undefined;
  #slot = 0;
  #syncing = false;
  #waiting: Pick<AuditRecord, 'seq' | 'hash'> | undefined;
  #closed = false;
  /** What went wrong in the pool: the store throws it at its next transaction. */
  #failure: unknown;

  constructor(store: string, private readonly key?: Buffer) {
    this.#store = store;
    this.#file = auditHeadFile(store);
  }

  /** Writes `last` (or, while a sync is under way, has it wait for it); call after the commit that appended it. */
  write(last: Pick<AuditRecord, 'seq' | 'hash'>): void {
    if (this.#syncing) {
      this.#waiting = last;
      return;
    }
    const fd = this.#put(last);
    this.#syncing = true;
    fdatasync(fd, (error) => {
      this.#syncing = false;
      if (error) this.#failure ??= error;
      if (this.#closed) return this.#release();
      const next = this.#waiting;
      this.#waiting = undefined;
      try {
        if (next) this.write(next);
      } catch (failure) {
        this.#failure ??= failure;
      }
    });
  }

  /** Writes `last` and has it on disk before returning. */
  writeNow(last: Pick<AuditRecord, 'seq' | 'hash'>): void {
    fdatasyncSync(this.#put(last));
  }

  /** The failure of a write or sync in the pool since the last call, if any. */
  takeFailure(): unknown {
    const failure = this.#failure;
    this.#failure = undefined;
    return failure;
  }

  /** Leaves the newest head on disk: the one being synced, and the one waiting for it. */
  close(): void {
    this.#closed = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (this.#syncing && this.#fd !== undefined) fdatasyncSync(this.#fd);
    // In a slot of its own: the sync under way keeps the descriptor it was given until it ends.
    if (waiting) writeAuditHead(this.#store, waiting, this.key);
    if (!this.#syncing) this.#release();
  }

  #release(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #put(last: Pick<AuditRecord, 'seq' | 'hash'>): number {
    const fd = this.#open();
    const head: AuditHead = { seq: last.seq, hash: last.hash, ...(this.key ? { mac: auditHeadMac(last, this.key) } : {}) };
    const slot = Buffer.alloc(SLOT, ' ');
    slot.write(JSON.stringify(head));
    slot[SLOT - 1] = 0x0a;
    writeSync(fd, slot, 0, SLOT, this.#slot * SLOT);
    this.#slot = 1 - this.#slot;
    return fd;
  }

  /** The open head file; opened again when the path no longer names it (deleted, replaced). */
  #open(): number {
    const onDisk = statSync(this.#file, { throwIfNoEntry: false });
    if (this.#fd !== undefined && onDisk?.ino === this.#inode?.ino && onDisk?.dev === this.#inode?.dev) return this.#fd;
    this.#release();
    const created = onDisk === undefined;
    const fd = openSync(this.#file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    if (created) syncDirectory(dirname(this.#file));
    const { dev, ino } = fstatSync(fd);
    this.#fd = fd;
    this.#inode = { dev, ino };
    // First over the slot that does not hold the newest head, so that it stays until this one is whole.
    this.#slot = created ? 0 : 1 - (newestHead(readSlots(readHeadBytes(fd)))?.index ?? 1);
    return fd;
  }
}

/** Records `last` as the store's head, on disk when this returns (a store keeps an AuditHeadWriter open instead). */
export function writeAuditHead(store: string, last: Pick<AuditRecord, 'seq' | 'hash'>, key?: Buffer): void {
  const writer = new AuditHeadWriter(store, key);
  try {
    writer.writeNow(last);
  } finally {
    writer.close();
  }
}

function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The head file's bytes, but never more than its two slots and one byte: a head file someone has
 * made large is judged by that byte, not read whole into memory.
 */
function readHeadBytes(fd: number): Buffer {
  const bytes = Buffer.alloc(2 * SLOT + 1);
  let length = 0;
  while (length < bytes.length) {
    const read = readSync(fd, bytes, length, bytes.length - length, length);
    if (read === 0) break;
    length += read;
  }
  return bytes.subarray(0, length);
}

type SlotReading = { head: AuditHead; index: number } | { problem: string };

/** Each slot that holds anything: its head, or what is wrong with it. */
function readSlots(bytes: Buffer): SlotReading[] {
  return [0, 1].flatMap((index): SlotReading[] => {
    // Trailing NULs: a file written before slots (one line) that has since had its second slot written.
    const text = bytes.subarray(index * SLOT, (index + 1) * SLOT).toString('utf8').replace(/[\s\0]+$/, '');
    if (text === '') return [];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return [{ problem: 'is not JSON' }];
    }
    const parsed = headSchema.safeParse(value);
    return parsed.success ? [{ head: parsed.data, index }] : [{ problem: 'is not a head ({seq, hash, mac?})' }];
  });
}

function newestHead(readings: readonly SlotReading[]): { head: AuditHead; index: number } | undefined {
  let newest: { head: AuditHead; index: number } | undefined;
  for (const reading of readings) {
    if ('head' in reading && (newest === undefined || reading.head.seq > newest.head.seq)) newest = reading;
  }
  return newest;
}

/**
 * The store's head, or undefined when it has none (a store written before heads, or deleted): the
 * newer of the two slots that hold a head. A slot that does not (a write cut short) is passed over
 * while the other holds one.
 */
export function readAuditHead(store: string): AuditHead | undefined {
  const file = auditHeadFile(store);
  let bytes: Buffer;
  try {
    // Non-blocking: a FIFO put where the head goes would otherwise hold the reader until someone writes to it.
    const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) throw new AuditHeadError(file, 'is not a regular file');
      bytes = readHeadBytes(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof AuditHeadError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SoarError('AUDIT_HEAD_UNREADABLE', `cannot read the audit head ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (bytes.length > 2 * SLOT) throw new AuditHeadError(file, 'is not a head ({seq, hash, mac?})');
  const readings = readSlots(bytes);
  const newest = newestHead(readings);
  if (newest) return newest.head;
  throw new AuditHeadError(file, readings.map((reading) => ('problem' in reading ? reading.problem : '')).find(Boolean) ?? 'is empty');
}
