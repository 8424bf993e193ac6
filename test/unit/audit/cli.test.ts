import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditHeadFile } from '../../../src/audit/head.js';
import { main } from '../../../src/cli/main.js';
import { defaultConfig, storePath } from '../../../src/config/config.js';
import { buildStore, refusedInput, runIdOf, runtimeRun, tamperedCopy, type BuiltStore } from './trail-store.js';

const KEY_TEXT = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
const CONTAINED = runIdOf('cli contained');
const DENIED = runIdOf('cli denied');

let dir: string;
let plain: BuiltStore;
let keyed: BuiltStore;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'soar-audit-cli-'));
  const entries = [...runtimeRun('contained-run.jsonl', CONTAINED), refusedInput(), ...runtimeRun('denied-run.jsonl', DENIED)];
  plain = buildStore(join(dir, 'plain.db'), entries);
  mkdirSync(join(dir, 'keyed'));
  keyed = buildStore(join(dir, 'keyed', 'soar.db'), entries, Buffer.from(KEY_TEXT));
  writeFileSync(join(dir, 'keyed', 'audit.key'), `${KEY_TEXT}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'keyed', 'soar.yaml'), 'known_hosts: known_hosts\nhosts: {}\nstore: soar.db\naudit:\n  key: { file: audit.key }\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function soar(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = { stdout: '', stderr: '' };
  const code = await main(args, { stdout: (text) => void (output.stdout += text), stderr: (text) => void (output.stderr += text) });
  return { code, ...output };
}

describe('soar audit verify', () => {
  it('says the trail holds, how long it is and its head hash (exit 0)', async () => {
    const { code, stdout } = await soar('audit', 'verify', '--store', plain.file);
    expect(code).toBe(0);
    expect(stdout).toBe(`ok: the audit trail of ${plain.file} holds: 71 records, head record 71 ${plain.records.at(-1)!.hash} (sha256, no key, anchored by ${auditHeadFile(plain.file)})\n`);
    const json = JSON.parse((await soar('audit', 'verify', CONTAINED, '--store', plain.file, '--json')).stdout) as unknown;
    expect(json).toEqual({ store: plain.file, keyed: false, ok: true, count: 71, last: { seq: 71, hash: plain.records.at(-1)!.hash }, anchored: true, unanchored: 0, run: { id: CONTAINED, records: 44, failureInRun: null } });
  });

  it('names the first bad record and whose it is (exit 1)', async () => {
    const file = tamperedCopy(plain.file, join(dir, 'edited.db'), (db) => db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = 52").run());
    const forDenied = await soar('audit', 'verify', DENIED, '--store', file);
    expect(forDenied.code).toBe(1);
    expect(forDenied.stdout).toBe(
      `TAMPERED: the audit trail of ${file} does not verify (sha256, no key).\nfirst bad record: 52 (edited): record 52 was edited: its hash does not match its content\nit belongs to run ${DENIED} (this run: ${DENIED})\nrun ${DENIED}: 26 record(s), seq 46 to 71\n`,
    );
    expect((await soar('audit', 'verify', CONTAINED, '--store', file)).stdout).toContain(`it belongs to run ${DENIED} (not run ${CONTAINED})`);
    const json = JSON.parse((await soar('audit', 'verify', CONTAINED, '--store', file, '--json')).stdout) as unknown;
    expect(json).toMatchObject({ ok: false, seq: 52, problem: 'edited', failureRun: DENIED, run: { id: CONTAINED, failureInRun: false } });
  });

  it('a cut from the end is named through the head anchor', async () => {
    const file = tamperedCopy(plain.file, join(dir, 'cut.db'), (db) => db.prepare('DELETE FROM audit WHERE seq > 60').run());
    const { code, stdout } = await soar('audit', 'verify', '--store', file);
    expect(code).toBe(1);
    expect(stdout).toContain('first bad record: 61 (truncated): records 61 to 71 are missing from the end: the head anchor says the trail reached 71\nthe record is gone, so its run cannot be told\n');
  });

  it('reads the store and the HMAC key from the config: the key is needed to verify a keyed trail', async () => {
    const config = join(dir, 'keyed', 'soar.yaml');
    expect(await soar('audit', 'verify', '--config', config)).toMatchObject({ code: 0, stdout: expect.stringContaining('(HMAC-keyed, anchored by') });
    const withoutKey = await soar('audit', 'verify', '--store', keyed.file);
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.stdout).toContain('first bad record: 1 (edited)');
    writeFileSync(join(dir, 'keyed', 'audit.key'), 'short\n');
    try {
      expect(await soar('audit', 'verify', '--config', config)).toMatchObject({ code: 1, stderr: expect.stringContaining('at least 32 are needed: generate one with `openssl rand -hex 32` (AUDIT_KEY_WEAK)') });
    } finally {
      writeFileSync(join(dir, 'keyed', 'audit.key'), `${KEY_TEXT}\n`);
    }
  });

  it('refuses a missing store instead of creating an empty one', async () => {
    const missing = join(dir, 'nowhere', 'soar.db');
    const { code, stderr } = await soar('audit', 'verify', '--store', missing);
    expect(code).toBe(1);
    expect(stderr).toContain(`there is no store at ${missing}: give --store FILE, set store in the config, or set $SOAR_STORE (STORE_NOT_FOUND)`);
    expect(existsSync(missing)).toBe(false);
  });
});

describe('soar audit show and export', () => {
  it('show prints the verdict, then the run\'s timeline', async () => {
    const { code, stdout } = await soar('audit', 'show', DENIED, '--store', plain.file);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^ok: the audit trail of .* holds: 71 records/);
    expect(lines[2]).toBe(`run ${DENIED}: 26 record(s)`);
    expect(lines.slice(4, -1)).toHaveLength(26);
    expect(stdout).toMatch(/DENIED by second-analyst/);
    const json = JSON.parse((await soar('audit', 'show', DENIED, '--store', plain.file, '--json')).stdout) as { timeline: unknown[]; chain: { verdict: { ok: boolean } } };
    expect(json.timeline).toHaveLength(26);
    expect(json.chain.verdict.ok).toBe(true);
  });

  it('show of a run the trail does not have lists the runs it has', async () => {
    const { code, stderr } = await soar('audit', 'show', 'run-0000000000000000', '--store', plain.file);
    expect(code).toBe(3);
    expect(stderr).toContain(`has no record of run run-0000000000000000 (latest runs: ${CONTAINED}, -, ${DENIED})`);
  });

  it('export writes a markdown or JSON report to a private file; a tampered trail still exports, flagged, with exit 1', async () => {
    const md = join(dir, 'report.md');
    const written = await soar('audit', 'export', CONTAINED, '--format', 'md', '--out', md, '--store', plain.file);
    expect(written).toMatchObject({ code: 0, stdout: '', stderr: `soar audit export: wrote ${md} (md, 44 records of run ${CONTAINED})\n` });
    expect(statSync(md).mode & 0o777).toBe(0o600);
    expect(readFileSync(md, 'utf8')).toMatch(/^# soar audit report: run `run-[0-9a-f]{16}`\n\nVerified: /);

    const json = JSON.parse((await soar('audit', 'export', CONTAINED, '--format', 'json', '--store', plain.file)).stdout) as { records: Array<{ seq: number; run: string }>; status: string; chain: { verdict: { ok: boolean } } };
    expect(json.records).toHaveLength(44);
    expect(json.records.every((record) => record.run === CONTAINED)).toBe(true);
    expect(json).toMatchObject({ status: 'done', chain: { verdict: { ok: true } } });

    const file = tamperedCopy(plain.file, join(dir, 'swapped.db'), (db) => db.prepare('DELETE FROM audit WHERE seq = 10').run());
    const tampered = await soar('audit', 'export', CONTAINED, '--format', 'md', '--store', file);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('> **THE AUDIT TRAIL DOES NOT VERIFY.** First bad record: 10 (missing)');
  });

  it('usage mistakes exit 2 with the help', async () => {
    expect(await soar('audit')).toMatchObject({ code: 2, stderr: expect.stringContaining('say what to do: verify, show or export') });
    expect(await soar('audit', 'export', CONTAINED, '--store', plain.file)).toMatchObject({ code: 2, stderr: expect.stringContaining('--format json or --format md is required') });
    expect(await soar('audit', 'show', '--store', plain.file)).toMatchObject({ code: 2, stderr: expect.stringContaining('Usage: soar audit verify') });
  });
});

describe('where the store is', () => {
  it('--store, else the config\'s store (beside the config), else $SOAR_STORE, else ./soar.db', () => {
    const saved = process.env.SOAR_STORE;
    try {
      const config = { ...defaultConfig(), baseDir: '/etc/soar' };
      delete process.env.SOAR_STORE;
      expect(storePath(config, undefined)).toBe('soar.db');
      process.env.SOAR_STORE = '/var/lib/soar/env.db';
      expect(storePath(config, undefined)).toBe('/var/lib/soar/env.db');
      expect(storePath({ ...config, store: 'state/soar.db' }, undefined)).toBe('/etc/soar/state/soar.db');
      expect(storePath({ ...config, store: 'state/soar.db' }, 'cli.db')).toBe('cli.db');
    } finally {
      if (saved === undefined) delete process.env.SOAR_STORE;
      else process.env.SOAR_STORE = saved;
    }
  });
});
