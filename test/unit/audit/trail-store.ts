import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditHeadFile, writeAuditHead } from '../../../src/audit/head.js';
import type { AuditEntry, AuditRecord } from '../../../src/audit/record.js';
import { sha256Hex } from '../../../src/canonical-json.js';
import { AuditTable } from '../../../src/store/audit-table.js';
import { InternedJson } from '../../../src/store/interned-json.js';
import { openDatabase } from '../../../src/store/database.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Audit journals the runtime wrote on lab hosts (see fixtures/README.md). */
export const RUNTIME_RUNS = ['contained-run.jsonl', 'denied-run.jsonl', 'failed-kill-run.jsonl'] as const;

/** A fixture run's entries as the runtime appended them, under a new run id when given. */
export function runtimeRun(file: (typeof RUNTIME_RUNS)[number], runId?: string): AuditEntry[] {
  const lines = readFileSync(join(FIXTURES, file), 'utf8').trim().split('\n');
  const original = (JSON.parse(lines[0]!) as AuditRecord).run;
  return lines.map((line) => {
    const record = JSON.parse(runId ? line.replaceAll(original, runId) : line) as AuditRecord;
    return { run: record.run, kind: record.kind, actor: record.actor, data: record.data };
  });
}

export const runIdOf = (label: string) => `run-${sha256Hex(label).slice(0, 16)}`;

/**
 * Runs the fixtures do not cover, shaped exactly as src/engine/run.ts writes them: an approval
 * that expired, and a kill whose link died (unknown), was settled as not in place, retried and held.
 */
export function expiredApprovalRun(runId: string): AuditEntry[] {
  const real = runtimeRun('contained-run.jsonl', runId);
  const triage = real.slice(0, 7); // run.started … approval.requested (isolate)
  const soar = (kind: string, data: unknown): AuditEntry => ({ run: runId, kind, actor: 'soar', data });
  const escalation = { reason: 'approval_expired', step: 'isolate' };
  return [
    ...triage,
    soar('approval.expired', { step: 'isolate', stepHash: (real[6]!.data as { stepHash: string }).stepHash }),
    soar('transition', { event: { type: 'APPROVAL.EXPIRED', step: 'isolate' }, from: { isolate: 'approval' }, to: { escalate: 'running' }, intents: [{ type: 'runStep', params: { step: 'escalate', action: 'escalate', attempt: 1, timeoutMs: 60000 } }] }),
    soar('step.started', { step: 'escalate', action: 'escalate', attempt: 1, stepHash: sha256Hex('escalate') }),
    soar('step.result', { step: 'escalate', outcome: 'delivered', summary: 'case recorded in the audit trail', changed: false, evidence: {} }),
    soar('transition', { event: { type: 'STEP.OK', step: 'escalate', outcome: 'delivered' }, from: { escalate: 'running' }, to: 'done', intents: [{ type: 'runFinished', params: { status: 'done' } }] }),
    soar('run.finished', { status: 'done', outcomes: { triage: 'malicious', escalate: 'delivered' }, escalation }),
  ];
}

export function unknownOutcomeRun(runId: string): AuditEntry[] {
  const real = runtimeRun('contained-run.jsonl', runId);
  const upToKill = real.slice(0, 23); // … command.sent (kill)
  const sent = real[22]!.data as { purpose: string; argv: string[] };
  const returned = real[23]!.data as { result: Record<string, unknown> };
  const soar = (kind: string, data: unknown): AuditEntry => ({ run: runId, kind, actor: 'soar', data });
  const empty = { sha256: sha256Hex(''), text: '', cut: false };
  return [
    ...upToKill,
    soar('command.returned', { step: 'kill', purpose: sent.purpose, result: { ...returned.result, exitCode: null, signal: null, outcomeUnknown: true, durationMs: 30012, stdout: empty, stderr: empty } }),
    soar('step.unknown', { step: 'kill', message: `${sent.purpose}: the connection dropped before an exit status arrived` }),
    soar('transition', { event: { type: 'STEP.UNKNOWN', step: 'kill' }, from: { kill: 'running' }, to: { kill: 'settling' }, intents: [{ type: 'settleStep', params: { step: 'kill' } }] }),
    soar('step.settled', { step: 'kill', inPlace: false }),
    soar('transition', { event: { type: 'STEP.FAILED', step: 'kill', error: { code: 'NOT_IN_PLACE', message: 'verify found the effect not in place: running the step again' }, retryable: true }, from: { kill: 'settling' }, to: { kill: 'retrying' }, intents: [{ type: 'scheduleRetry', params: { step: 'kill', attempt: 2, delayMs: 5000 } }] }),
    soar('retry.scheduled', { step: 'kill', attempt: 2, delayMs: 5000 }),
    soar('transition', { event: { type: 'RETRY.DUE', step: 'kill' }, from: { kill: 'retrying' }, to: { kill: 'running' }, intents: [{ type: 'runStep', params: { step: 'kill', action: 'kill-process', attempt: 2, timeoutMs: 120000 } }] }),
    soar('step.started', { step: 'kill', action: 'kill-process', attempt: 2, stepHash: (real[21]!.data as { stepHash: string }).stepHash }),
    ...real.slice(22),
  ];
}

/** The runner died with kill's command in flight; soar resume took the run and its host over and found the kill in place. */
export function crashedRun(runId: string): AuditEntry[] {
  const real = runtimeRun('contained-run.jsonl', runId);
  const result = real[24]!.data as Record<string, unknown>;
  const soar = (kind: string, data: unknown): AuditEntry => ({ run: runId, kind, actor: 'soar', data });
  return [
    ...real.slice(0, 23), // … command.sent (kill)
    soar('run.taken_over', { from: { hostname: 'soc-runner-1', pid: 4242 }, why: 'process gone', expiredAt: '2026-11-23T15:04:17.880Z' }),
    soar('host.taken_over', { host: 'web-01', from: { hostname: 'soc-runner-1', pid: 4242 }, why: 'expired', expiredAt: '2026-11-23T15:04:17.880Z' }),
    soar('step.settled', { ...result, inPlace: true, summary: "settled: kill's effect was verified in place after its outcome was lost" }),
    ...real.slice(25),
  ];
}

export function refusedInput(): AuditEntry {
  return { run: '-', kind: 'input.refused', actor: 'soar', data: { code: 'ALERT_NOT_TAKEN', message: 'playbook mining-service does not take this alert: host.os.type "windows" is not linux' } };
}

/** A small seeded generator (mulberry32), so the weave of runs is the same on every machine. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Several runs' entries woven together as concurrent runs would append them. */
export function interleave(runs: readonly (readonly AuditEntry[])[], random: () => number): AuditEntry[] {
  const cursors = runs.map(() => 0);
  const woven: AuditEntry[] = [];
  for (;;) {
    const open = runs.map((_, index) => index).filter((index) => cursors[index]! < runs[index]!.length);
    if (open.length === 0) return woven;
    const pick = open[Math.floor(random() * open.length)]!;
    woven.push(runs[pick]![cursors[pick]!]!);
    cursors[pick]! += 1;
  }
}

/** The realistic trail the tamper tests attack: real runs (relabelled) and synthetic ones, interleaved. */
export function realisticEntries(): AuditEntry[] {
  const runs: AuditEntry[][] = [
    ...[1, 2, 3].map((n) => runtimeRun('contained-run.jsonl', runIdOf(`contained ${n}`))),
    ...[1, 2, 3].map((n) => runtimeRun('denied-run.jsonl', runIdOf(`denied ${n}`))),
    ...[1, 2].map((n) => runtimeRun('failed-kill-run.jsonl', runIdOf(`failed kill ${n}`))),
    expiredApprovalRun(runIdOf('expired')),
    unknownOutcomeRun(runIdOf('unknown')),
    [refusedInput()],
    [refusedInput()],
  ];
  return interleave(runs, seeded(5));
}

export interface BuiltStore {
  file: string;
  records: AuditRecord[];
}

/**
 * A real store: openDatabase and AuditTable, one transaction per record as the runtime commits,
 * and the head anchored after each commit.
 */
export function buildStore(file: string, entries: readonly AuditEntry[], key?: Buffer): BuiltStore {
  const db = openDatabase(file);
  const table = new AuditTable(db, new InternedJson(db), key);
  const records: AuditRecord[] = [];
  try {
    for (const entry of entries) {
      const record = db.transaction(() => table.append(entry))();
      writeAuditHead(file, record, key);
      records.push(record);
    }
  } finally {
    db.close();
  }
  return { file, records };
}

/**
 * A copy of the store (and its head) changed by an attacker with the file: a separate connection
 * that first drops the append-only triggers.
 */
export function tamperedCopy(source: string, target: string, attack: (db: Database.Database) => void): string {
  copyFileSync(source, target);
  if (existsSync(auditHeadFile(source))) copyFileSync(auditHeadFile(source), auditHeadFile(target));
  const db = new Database(target);
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; DROP TRIGGER IF EXISTS blobs_no_update; DROP TRIGGER IF EXISTS blobs_no_delete;');
    db.transaction(() => attack(db))();
  } finally {
    db.close();
  }
  return target;
}
