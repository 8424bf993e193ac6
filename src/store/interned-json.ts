import { sha256Hex } from '../canonical-json.js';
import { SoarError } from '../errors.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/** Strings at least this long are stored once, in `blobs`: every plan repeats the same scripts. */
const INTERN_FROM = 1024;
// A stored string that starts with NUL is either a reference ("\0b" and a sha256) or a string
// that itself started with NUL, escaped by one more. Nothing else in a stored value starts with NUL.
const REFERENCE = '\0b';
const ESCAPE = '\0';
/** Long strings remembered in memory: the scripts; alert text can be long too, and must not pile up. */
const REMEMBERED = 256;

/**
 * JSON for the store whose long strings (the remote scripts and YARA rules plans carry) are
 * written once to the `blobs` table and referred to by hash, so a run's plan costs a few kB
 * instead of 80. Call `stringify` inside the transaction that writes the value.
 */
export class InternedJson {
  readonly #hashOf = new Map<string, string>();
  readonly #textOf = new Map<string, string>();
  /** Blobs a committed transaction holds. Blobs are never deleted: these need no lookup. */
  readonly #committed = new Set<string>();
  /** Blobs the transaction under way wrote or found: held once it commits, forgotten if any of it rolls back. */
  #uncommitted: string[] = [];

  readonly #insert: Statement<[string, string]>;
  readonly #has: Statement<[string]>;
  readonly #select: Statement<[string], { text: string }>;

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare<[string, string]>('INSERT OR IGNORE INTO blobs (hash, text) VALUES (?, ?)');
    this.#has = db.prepare<[string]>('SELECT 1 FROM blobs WHERE hash = ?');
    this.#select = db.prepare<[string], { text: string }>('SELECT text FROM blobs WHERE hash = ?');
  }

  stringify(value: unknown): string {
    return JSON.stringify(value, (_key, member: unknown) => (typeof member === 'string' ? this.#encode(member) : member));
  }

  parse(text: string): unknown {
    return this.#decode(JSON.parse(text));
  }

  /** A value SQLite took out of stored JSON (`->>`), as it was before `stringify`. */
  decode(value: unknown): unknown {
    return this.#decode(value);
  }

  #encode(text: string): string {
    if (text.length >= INTERN_FROM) return REFERENCE + this.#intern(text);
    return text.startsWith(ESCAPE) ? ESCAPE + text : text;
  }

  #intern(text: string): string {
    let hash = this.#hashOf.get(text);
    if (hash === undefined) {
      hash = sha256Hex(text);
      this.#remember(hash, text);
    }
    // Looked up until a transaction holding it commits (one that rolled back may have taken the
    // first write with it); written only when missing, not rebound at every plan.
    if (!this.#committed.has(hash)) {
      if (this.#has.get(hash) === undefined) this.#insert.run(hash, text);
      this.#uncommitted.push(hash);
    }
    return hash;
  }

  /** The store's transaction committed: the blobs written or found in it are held. */
  committed(): void {
    if (this.#committed.size + this.#uncommitted.length > REMEMBERED) this.#committed.clear();
    for (const hash of this.#uncommitted) this.#committed.add(hash);
    this.#uncommitted = [];
  }

  /** Some of the store's transaction rolled back: any blob written in it may be gone. */
  rolledBack(): void {
    this.#uncommitted = [];
  }

  #remember(hash: string, text: string): void {
    if (this.#textOf.size >= REMEMBERED) {
      this.#textOf.clear();
      this.#hashOf.clear();
    }
    this.#textOf.set(hash, text);
    this.#hashOf.set(text, hash);
  }

  #decode(value: unknown): unknown {
    if (typeof value === 'string') {
      if (!value.startsWith(ESCAPE)) return value;
      return value.startsWith(REFERENCE) ? this.#blob(value.slice(REFERENCE.length)) : value.slice(ESCAPE.length);
    }
    if (Array.isArray(value)) return value.map((item) => this.#decode(item));
    if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      for (const key of Object.keys(object)) object[key] = this.#decode(object[key]);
    }
    return value;
  }

  #blob(hash: string): string {
    let text = this.#textOf.get(hash);
    if (text === undefined) {
      const row = this.#select.get(hash);
      if (!row) throw new SoarError('STORE_CORRUPT', `the store refers to blob ${hash}, which it does not hold`);
      text = row.text;
      this.#remember(hash, text);
    }
    return text;
  }
}
