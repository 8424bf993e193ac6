import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditHeadFile } from '../../../src/audit/head.js';
import { GENESIS, recordHash, type AuditRecord } from '../../../src/audit/record.js';
import { readStoredTrail } from '../../../src/audit/stored-trail.js';
import { readVerifiedTrail, readVerifiedTrailInTurns } from '../../../src/audit/verified-trail.js';
import { verifyChain, type ChainVerdict } from '../../../src/audit/verify.js';
import { canonicalJson } from '../../../src/canonical-json.js';
import { RECORDS_A_TURN } from '../../../src/turns.js';
import { buildStore, realisticEntries, tamperedCopy, type BuiltStore } from './trail-store.js';

/** Fixed, so a failure reproduces and CI cannot flake. */
const SEED = 20_261_123;
const KEY = Buffer.from('8f2c6a1e9b7d3f5a0c4e6b8d2f1a3c5e', 'utf8');

let dir: string;
let plain: BuiltStore;
let keyed: BuiltStore;
let last: number;
let attacks = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'soar-audit-tamper-'));
  const entries = realisticEntries();
  plain = buildStore(join(dir, 'plain.db'), entries);
  keyed = buildStore(join(dir, 'keyed.db'), entries, KEY);
  last = plain.records.length;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Attacks a copy of the store's file, then verifies it as `soar audit verify` does. */
function verdictAfter(store: BuiltStore, attack: (db: Database.Database) => void, key?: Buffer): ChainVerdict {
  const file = tamperedCopy(store.file, join(dir, `attack-${(attacks += 1)}.db`), attack);
  try {
    const { records, head } = readStoredTrail(file);
    return verifyChain(records, { key, head: head ?? null });
  } finally {
    rmSync(file);
    rmSync(auditHeadFile(file), { force: true });
  }
}

const rowOf = (db: Database.Database, seq: number) => db.prepare('SELECT * FROM audit WHERE seq = ?').get(seq) as Record<string, string | number>;

/** Moves every record from `from` on by `by` (two steps: seq is the primary key). */
function renumber(db: Database.Database, from: number, by: number): void {
  db.prepare('UPDATE audit SET seq = -(seq + ?) WHERE seq >= ?').run(by, from);
  db.prepare('UPDATE audit SET seq = -seq WHERE seq < 0').run();
}

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** A change to one node of a JSON value that changes what it means. */
function mutateJson(value: unknown, pick: number, salt: string): unknown {
  const copy = structuredClone(value);
  const nodes: Array<{ parent: Record<string, unknown> | unknown[] | undefined; key: string | number; value: unknown }> = [];
  const walk = (node: unknown, parent: Record<string, unknown> | unknown[] | undefined, key: string | number) => {
    nodes.push({ parent, key, value: node });
    if (node !== null && typeof node === 'object') for (const [k, inner] of Object.entries(node)) walk(inner, node as Record<string, unknown>, Array.isArray(node) ? Number(k) : k);
  };
  walk(copy, undefined, '');
  const target = nodes[pick % nodes.length]!;
  const replace = (next: unknown) => {
    if (!target.parent) return next;
    (target.parent as Record<string | number, unknown>)[target.key] = next;
    return copy;
  };
  const node = target.value;
  if (typeof node === 'string') return replace(`${node}${salt}`);
  if (typeof node === 'number') return replace(node + 1);
  if (typeof node === 'boolean') return replace(!node);
  if (node === null) return replace(0);
  if (Array.isArray(node)) {
    if (node.length > 0 && pick % 2 === 0) node.pop();
    else node.push(salt);
    return copy;
  }
  const object = node as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length > 0 && pick % 2 === 0) delete object[keys[pick % keys.length]!];
  else object[`x${salt}`] = salt;
  return copy;
}

describe('the untampered store', () => {
  it('verifies: several hundred records of eleven interleaved runs, anchored by the head', () => {
    expect(last).toBeGreaterThan(300);
    expect(new Set(plain.records.map((record) => record.run)).size).toBe(11);
    for (const [store, key] of [[plain, undefined], [keyed, KEY]] as const) {
      const { records, head } = readStoredTrail(store.file);
      expect(verifyChain(records, { key, head: head ?? null })).toEqual({
        ok: true,
        count: last,
        last: { seq: last, hash: store.records.at(-1)!.hash },
        anchored: true,
        unanchored: 0,
      });
    }
  });

  it('soar serve reads and verifies it a slice a turn of the event loop, to the verdict soar audit gives at once', async () => {
    const exported = async (file: string) => {
      let turns = 0;
      let reading = true;
      const probe = () => {
        turns += 1;
        if (reading) setImmediate(probe);
      };
      setImmediate(probe);
      const trail = await readVerifiedTrailInTurns(file, KEY);
      reading = false;
      expect(trail).toEqual(readVerifiedTrail(file, KEY));
      return { verdict: trail.verdict, turns };
    };
    const whole = await exported(keyed.file);
    expect(whole.verdict).toMatchObject({ ok: true, count: last, anchored: true });
    // A turn served between slices: several hundred records read, then verified, RECORDS_A_TURN at a time.
    expect(whole.turns).toBeGreaterThanOrEqual(2 * Math.floor(last / RECORDS_A_TURN));
    const cut = tamperedCopy(keyed.file, join(dir, 'cut-for-export.db'), (db) => db.prepare('DELETE FROM audit WHERE seq = ?').run(last - 1));
    expect((await exported(cut)).verdict).toMatchObject({ ok: false, seq: last - 1, problem: 'missing' });
  });

  it('a keyed trail does not verify without its key, nor with another', () => {
    const { records, head } = readStoredTrail(keyed.file);
    expect(verifyChain(records, { head })).toMatchObject({ ok: false, seq: 1, problem: 'edited', message: expect.stringContaining('give its key') });
    expect(verifyChain(records, { key: Buffer.from('another key of thirty-two chars!'), head })).toMatchObject({ ok: false, seq: 1, problem: 'edited' });
  });
});

describe('tamper tests: every single change to the stored records is found, and the first bad record named', () => {
  const FIELDS = ['data', 'data-text', 'time', 'actor', 'kind', 'run', 'prev', 'hash'] as const;

  it('edits of any field of any record', () => {
    const edit = fc.record({ seq: fc.integer({ min: 1, max: 1_000_000 }), field: fc.constantFrom(...FIELDS), pick: fc.nat(), salt: fc.string({ minLength: 1, maxLength: 8 }), hex: hex64, keyed: fc.boolean() });
    let tried = 0;
    fc.assert(
      fc.property(edit, (change) => {
        const store = change.keyed ? keyed : plain;
        const seq = ((change.seq - 1) % last) + 1;
        const original = store.records[seq - 1]!;
        const others = store.records.filter((record) => record.seq !== seq);
        const other = others[change.pick % others.length]!;
        const value = ((): string => {
          switch (change.field) {
            case 'data':
              return canonicalJson(mutateJson(original.data, change.pick, change.salt));
            case 'data-text': {
              const text = canonicalJson(original.data);
              const at = change.pick % text.length;
              return `${text.slice(0, at)}${change.salt}${text.slice(at + 1)}`;
            }
            case 'time':
              return new Date(Date.parse(original.time) + (change.pick % 86_400_000) + 1).toISOString();
            case 'actor':
            case 'kind':
            case 'run':
              return change.pick % 2 === 0 ? other[change.field] : `${original[change.field]}${change.salt}`;
            case 'prev':
            case 'hash':
              return change.pick % 2 === 0 ? other.hash : change.hex;
          }
        })();
        const column = change.field === 'data-text' ? 'data' : change.field;
        const before = column === 'data' ? canonicalJson(original.data) : String(original[column]);
        // Only a change of meaning is an edit: the same JSON written another way is the same record.
        fc.pre(value !== before && !(column === 'data' && sameJson(value, original.data)));
        tried += 1;
        const verdict = verdictAfter(store, (db) => db.prepare(`UPDATE audit SET ${column} = ? WHERE seq = ?`).run(value, seq), change.keyed ? KEY : undefined);
        expect(verdict).toMatchObject({ ok: false, seq, problem: 'edited' });
      }),
      { seed: SEED, numRuns: 240, examples: [[{ seq: 1, field: 'data', pick: 3, salt: 'x', hex: 'a'.repeat(64), keyed: false }], [{ seq: 1_000_000, field: 'hash', pick: 1, salt: 'x', hex: 'b'.repeat(64), keyed: true }]] },
    );
    expect(tried).toBeGreaterThan(200);
  });

  it('moving a record to an unused seq leaves a hole where it was', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 50 }), (seq, beyond) => {
        const at = Math.min(seq, last);
        const verdict = verdictAfter(plain, (db) => db.prepare('UPDATE audit SET seq = ? WHERE seq = ?').run(last + beyond, at));
        expect(verdict).toMatchObject({ ok: false, seq: at, problem: 'missing' });
      }),
      { seed: SEED, numRuns: 25 },
    );
  });

  it('deletions of any record, the first and the last included, with or without renumbering the rest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), fc.boolean(), (n, closeGap, useKey) => {
        const seq = ((n - 1) % last) + 1;
        const verdict = verdictAfter(
          useKey ? keyed : plain,
          (db) => {
            db.prepare('DELETE FROM audit WHERE seq = ?').run(seq);
            if (closeGap) renumber(db, seq + 1, -1);
          },
          useKey ? KEY : undefined,
        );
        expect(verdict).toMatchObject(seq === last ? { ok: false, seq, problem: 'truncated' } : { ok: false, seq, problem: 'missing' });
      }),
      { seed: SEED, numRuns: 80, examples: [[1, false, false], [1, true, true], [last, false, false], [last - 1, true, false]] },
    );
  });

  it('swaps of two records (everything but their seq)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), (x, y, useKey) => {
        const a = ((x - 1) % last) + 1;
        const b = ((y - 1) % last) + 1;
        fc.pre(a !== b);
        const [low, high] = a < b ? [a, b] : [b, a];
        const verdict = verdictAfter(
          useKey ? keyed : plain,
          (db) => {
            const [first, second] = [rowOf(db, low), rowOf(db, high)];
            const put = db.prepare('UPDATE audit SET time = @time, run = @run, kind = @kind, actor = @actor, data = @data, prev = @prev, hash = @hash WHERE seq = @at');
            put.run({ ...second, at: low });
            put.run({ ...first, at: high });
          },
          useKey ? KEY : undefined,
        );
        expect(verdict).toMatchObject({ ok: false, seq: low, problem: 'reordered' });
      }),
      { seed: SEED, numRuns: 80, examples: [[1, 2, false], [1, 1_000_000, true]] },
    );
  });

  it('insertions of a forged record (an approval nobody gave), the rest renumbered', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), fc.boolean(), hex64, (n, useKey, goodLink, randomPrev) => {
        const store = useKey ? keyed : plain;
        const seq = ((n - 1) % last) + 1;
        const before = store.records[seq - 2];
        // The attacker links it properly and hashes it: all they can do without the key.
        const unsealed = { seq, time: store.records[seq - 1]!.time, run: store.records[seq - 1]!.run, kind: 'approval.granted', actor: 'mallory', data: { step: 'kill', stepHash: 'f'.repeat(64), reason: 'looks fine' }, prev: goodLink ? (before?.hash ?? GENESIS) : randomPrev };
        const forged: AuditRecord = { ...unsealed, hash: recordHash(unsealed) };
        const verdict = verdictAfter(
          store,
          (db) => {
            renumber(db, seq, 1);
            db.prepare('INSERT INTO audit (seq, time, run, kind, actor, data, prev, hash) VALUES (@seq, @time, @run, @kind, @actor, @data, @prev, @hash)').run({ ...forged, data: canonicalJson(forged.data) });
          },
          useKey ? KEY : undefined,
        );
        expect(verdict).toMatchObject({ ok: false, seq, problem: 'inserted' });
      }),
      { seed: SEED, numRuns: 80, examples: [[1, false, true, 'c'.repeat(64)], [1_000_000, true, true, 'c'.repeat(64)]] },
    );
  });

  it('truncations: the last k records cut, down to an empty trail', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), (n, useKey) => {
        const cut = ((n - 1) % last) + 1;
        const verdict = verdictAfter(useKey ? keyed : plain, (db) => db.prepare('DELETE FROM audit WHERE seq > ?').run(last - cut), useKey ? KEY : undefined);
        expect(verdict).toMatchObject({ ok: false, seq: last - cut + 1, problem: 'truncated' });
      }),
      { seed: SEED, numRuns: 40, examples: [[1, false], [last, true]] },
    );
  });
});

function sameJson(text: string, data: unknown): boolean {
  try {
    return canonicalJson(JSON.parse(text)) === canonicalJson(data);
  } catch {
    return false;
  }
}


describe('tamper tests on the long strings records keep in blobs (the scripts every command record names)', () => {
  /** Each blob of the store, with the first record that refers to it. */
  function blobsAndFirstUse(file: string): Array<{ hash: string; text: string; firstSeq: number }> {
    const db = new Database(file, { readonly: true });
    try {
      const blobs = db.prepare('SELECT hash, text FROM blobs ORDER BY hash').all() as Array<{ hash: string; text: string }>;
      const rows = db.prepare('SELECT seq, data FROM audit WHERE interned = 1 ORDER BY seq').all() as Array<{ seq: number; data: string }>;
      return blobs.map(({ hash, text }) => ({ hash, text, firstSeq: rows.find((row) => row.data.includes(`\\u0000b${hash}`))!.seq }));
    } finally {
      db.close();
    }
  }

  it('the trail keeps its scripts in blobs, each once', () => {
    const blobs = blobsAndFirstUse(plain.file);
    expect(blobs.length).toBeGreaterThan(5);
    expect(blobs.every(({ text }) => text.length >= 1024)).toBe(true);
  });

  it('an edit of any blob is found at the first record that refers to it', () => {
    for (const store of [plain, keyed]) {
      for (const { hash, text, firstSeq } of blobsAndFirstUse(store.file)) {
        const verdict = verdictAfter(store, (db) => db.prepare('UPDATE blobs SET text = ? WHERE hash = ?').run(`${text.slice(0, -1)}${text.endsWith('x') ? 'y' : 'x'}`, hash), store === keyed ? KEY : undefined);
        expect(verdict).toMatchObject({ ok: false, seq: firstSeq, problem: 'edited' });
      }
    }
  });

  it('a deleted blob is found at the first record that refers to it, and named', () => {
    for (const { hash, firstSeq } of blobsAndFirstUse(plain.file)) {
      const verdict = verdictAfter(plain, (db) => db.prepare('DELETE FROM blobs WHERE hash = ?').run(hash));
      expect(verdict).toMatchObject({ ok: false, seq: firstSeq, problem: 'edited', message: expect.stringContaining(`blob ${hash}`) });
    }
  });

  it('a record read as plain JSON instead of through its blobs is found', () => {
    const { firstSeq } = blobsAndFirstUse(plain.file)[0]!;
    const verdict = verdictAfter(plain, (db) => db.prepare('UPDATE audit SET interned = 0 WHERE seq = ?').run(firstSeq));
    expect(verdict).toMatchObject({ ok: false, seq: firstSeq, problem: 'edited' });
  });
});
