import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditHeadFile, readAuditHead, writeAuditHead } from '../../../src/audit/head.js';
import { chainRecord, recordHash, type AuditRecord } from '../../../src/audit/record.js';
import { readStoredTrail } from '../../../src/audit/stored-trail.js';
import { failureRun, verifyChain } from '../../../src/audit/verify.js';
import { canonicalJson } from '../../../src/canonical-json.js';
import { buildStore, refusedInput, RUNTIME_RUNS, runIdOf, runtimeRun, tamperedCopy, type BuiltStore } from './trail-store.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');

let dir: string;
let plain: BuiltStore;
let keyed: BuiltStore;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'soar-audit-verify-'));
  const entries = [...runtimeRun('contained-run.jsonl'), refusedInput(), ...runtimeRun('denied-run.jsonl')];
  plain = buildStore(join(dir, 'plain.db'), entries);
  keyed = buildStore(join(dir, 'keyed.db'), entries, KEY);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let copies = 0;
const copy = (store: BuiltStore, attack: Parameters<typeof tamperedCopy>[2] = () => {}) => tamperedCopy(store.file, join(dir, `copy-${(copies += 1)}.db`), attack);

function verified(file: string, key?: Buffer) {
  const { records, head } = readStoredTrail(file);
  return verifyChain(records, { key, head: head ?? null });
}

/** What an attacker without the key does after an edit: recompute every hash from there on. */
function rechain(file: string, from: number, edit: (record: AuditRecord) => AuditRecord, head: 'keep' | 'rewrite') {
  const original = readStoredTrail(file).records as AuditRecord[];
  tamperedCopyInPlace(file, (db) => {
    let previous = original[from - 2];
    for (const record of original.slice(from - 1)) {
      const { seq, time, run, kind, actor, data, prev } = record.seq === from ? edit(record) : record;
      const content = { seq, time, run, kind, actor, data, prev: previous?.hash ?? prev };
      const forged = { ...content, hash: recordHash(content) };
      db.prepare('UPDATE audit SET data = ?, prev = ?, hash = ? WHERE seq = ?').run(canonicalJson(forged.data), forged.prev, forged.hash, forged.seq);
      previous = forged;
    }
    if (head === 'rewrite') replaceHead(file, previous!);
  });
}

/** The head file replaced by one naming `record` (an attacker's rewrite; or the head a crash left behind). */
function replaceHead(file: string, record: AuditRecord, key?: Buffer) {
  rmSync(auditHeadFile(file));
  writeAuditHead(file, record, key);
}

function tamperedCopyInPlace(file: string, attack: Parameters<typeof tamperedCopy>[2]) {
  const scratch = `${file}.scratch`;
  tamperedCopy(file, scratch, attack);
  writeFileSync(file, readFileSync(scratch));
  rmSync(scratch);
  rmSync(auditHeadFile(scratch), { force: true });
}

describe('the head anchor', () => {
  it('is written beside the store, private, and read back', () => {
    const file = copy(plain);
    const last = plain.records.at(-1)!;
    expect(readAuditHead(file)).toEqual({ seq: last.seq, hash: last.hash });
    expect(statSync(auditHeadFile(file)).mode & 0o777).toBe(0o600);
    const keyedHead = readAuditHead(copy(keyed))!;
    expect(keyedHead.mac).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a head file that is not one soar wrote is refused with a typed error', () => {
    const file = copy(plain);
    writeFileSync(auditHeadFile(file), '{"seq": "12"}\n');
    expect(() => readAuditHead(file)).toThrow(expect.objectContaining({ code: 'AUDIT_HEAD_INVALID' }));
    writeFileSync(auditHeadFile(file), 'not json');
    expect(() => readStoredTrail(file)).toThrow(expect.objectContaining({ code: 'AUDIT_HEAD_INVALID' }));
  });

  it('a deleted head fails verification: a cut from the end could no longer be seen', () => {
    const file = copy(plain);
    rmSync(auditHeadFile(file));
    expect(verified(file)).toMatchObject({ ok: false, seq: plain.records.length + 1, problem: 'head-missing' });
    expect(verifyChain([], { head: null })).toMatchObject({ ok: true, count: 0, anchored: false });
  });

  it('a head moved back without the key (to hide a cut) is a forgery; so is one with no MAC', () => {
    const file = copy(keyed, (db) => db.prepare('DELETE FROM audit WHERE seq > 40').run());
    replaceHead(file, keyed.records[39]!);
    expect(verified(file, KEY)).toMatchObject({ ok: false, seq: 40, problem: 'head-forged', message: expect.stringContaining('has no MAC') });
    replaceHead(file, keyed.records[39]!, Buffer.from('not the key, but thirty-two long'));
    expect(verified(file, KEY)).toMatchObject({ ok: false, seq: 40, problem: 'head-forged' });
  });

  it('records after the head (a crash between commit and anchor) verify, counted as unanchored', () => {
    const file = copy(keyed);
    replaceHead(file, keyed.records.at(-3)!, KEY);
    expect(verified(file, KEY)).toMatchObject({ ok: true, anchored: true, unanchored: 2 });
  });
});

describe('forgeries that recompute hashes', () => {
  const approveAsMallory = (record: AuditRecord): AuditRecord => ({ ...record, data: { ...(record.data as object), reason: 'mallory says so' } });
  const grant = () => plain.records.find((record) => record.kind === 'approval.granted')!.seq;

  it('without a key, a re-chain after an edit is caught by the head anchor', () => {
    const file = copy(plain);
    rechain(file, grant(), approveAsMallory, 'keep');
    expect(verified(file)).toMatchObject({ ok: false, seq: plain.records.length, problem: 'rewritten' });
  });

  it('without a key, a re-chain that also rewrites the head passes: that is what the key is for', () => {
    const file = copy(plain);
    rechain(file, grant(), approveAsMallory, 'rewrite');
    expect(verified(file)).toMatchObject({ ok: true });
  });

  it('with a key, a fully re-chained forgery (sha256 recomputed from the first record, head rewritten) passes without the key and fails with it', () => {
    const file = copy(keyed);
    rechain(file, 1, (record) => record, 'keep');
    rechain(file, grant(), approveAsMallory, 'rewrite');
    expect(verified(file)).toMatchObject({ ok: true, count: keyed.records.length });
    expect(verified(file, KEY)).toMatchObject({ ok: false, seq: 1, problem: 'edited' });
  });

  it('with a key, a re-chain from the edit on is named at the edited record', () => {
    const file = copy(keyed);
    rechain(file, grant(), approveAsMallory, 'rewrite');
    expect(verified(file, KEY)).toMatchObject({ ok: false, seq: grant(), problem: 'edited' });
  });

  it('a forged record appended after the end: found with a key; without one it is only unanchored', () => {
    for (const [store, key] of [[keyed, KEY], [plain, undefined]] as const) {
      const last = store.records.at(-1)!;
      const forged = chainRecord(last, { run: last.run, kind: 'approval.granted', actor: 'mallory', data: { step: 'kill', reason: 'ok' } }, new Date());
      const file = copy(store, (db) => db.prepare('INSERT INTO audit (seq, time, run, kind, actor, data, prev, hash) VALUES (@seq, @time, @run, @kind, @actor, @data, @prev, @hash)').run({ ...forged, data: canonicalJson(forged.data) }));
      expect(verified(file, key)).toMatchObject(key ? { ok: false, seq: last.seq + 1, problem: 'edited' } : { ok: true, unanchored: 1 });
    }
  });
});

describe('damage that cannot be read back', () => {
  it('a column of the wrong type is an edit of that record', () => {
    const file = copy(plain, (db) => db.prepare("UPDATE audit SET time = x'0102' WHERE seq = 7").run());
    expect(verified(file)).toEqual({ ok: false, seq: 7, problem: 'edited', message: 'record 7 was edited: its time is not text' });
  });

  it('a dropped audit table is reported, not a crash', () => {
    const file = copy(plain, (db) => db.exec('DROP TABLE audit'));
    expect(() => readStoredTrail(file)).toThrow(expect.objectContaining({ code: 'AUDIT_TABLE_UNREADABLE' }));
    expect(() => readStoredTrail(join(dir, 'nowhere.db'))).toThrow(expect.objectContaining({ code: 'STORE_NOT_FOUND' }));
    expect(existsSync(join(dir, 'nowhere.db'))).toBe(false);
  });
});

describe('journals the runtime wrote', () => {
  it.each(RUNTIME_RUNS)('%s verifies as written by soar run (JSON Lines, no head)', (file) => {
    const records = readFileSync(new URL(`./fixtures/${file}`, import.meta.url), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    expect(verifyChain(records)).toMatchObject({ ok: true, count: records.length, anchored: false });
  });

  it('a chain with a duplicated or a moved record names it', () => {
    let previous: AuditRecord | undefined;
    const records = runtimeRun('denied-run.jsonl', runIdOf('journal')).map((entry) => (previous = chainRecord(previous, entry, new Date(), KEY)));
    expect(verifyChain(records, { key: KEY })).toMatchObject({ ok: true });
    expect(verifyChain([...records.slice(0, 5), records[4]!, ...records.slice(5)], { key: KEY })).toMatchObject({ ok: false, seq: 5, problem: 'inserted' });
    expect(verifyChain([...records.slice(0, 5), ...records.slice(6)], { key: KEY })).toMatchObject({ ok: false, seq: 6, problem: 'missing' });
    expect(verifyChain([...records.slice(0, 5), records[9]!, ...records.slice(5, 9), ...records.slice(10)], { key: KEY })).toMatchObject({ ok: false, seq: 6, problem: 'reordered' });
    expect(verifyChain([...records.slice(0, 5), records[6]!, records[5]!, ...records.slice(7)], { key: KEY })).toMatchObject({ ok: false, seq: 6, problem: 'reordered' });
  });

  it('failureRun tells whose record is bad, when the record is still there', () => {
    const records = plain.records;
    const edited = records.map((record) => (record.seq === 45 ? { ...record, actor: 'mallory' } : record));
    const verdict = verifyChain(edited);
    expect(verdict).toMatchObject({ ok: false, seq: 45 });
    expect(failureRun(edited, verdict as Extract<typeof verdict, { ok: false }>)).toBe('-');
    const gap = records.filter((record) => record.seq !== 10);
    const missing = verifyChain(gap);
    expect(failureRun(gap, missing as Extract<typeof missing, { ok: false }>)).toBeUndefined();
  });
});
