import * as z from 'zod';
import type { AuditRecord } from './record.js';

/**
 * What the runtime's audit records say (src/engine/run.ts writes them), read defensively: a
 * record of a kind this soar does not know, or whose data does not have the expected shape, is
 * an `other` entry, shown as it is rather than dropped or trusted.
 */

const output = z.object({ sha256: z.string(), text: z.string(), cut: z.boolean() });
const escalation = z.object({ reason: z.string(), step: z.string(), detail: z.string().optional() });
const takeover = z.object({ from: z.object({ hostname: z.string(), pid: z.number() }), why: z.string(), expiredAt: z.string() });

const SCHEMAS = {
  'run.started': z.object({
    plan: z.string(),
    playbook: z.object({ id: z.string(), title: z.string() }),
    alert: z.object({
      id: z.string(),
      index: z.string().optional(),
      timestamp: z.string(),
      rule: z.object({ ruleId: z.string().optional(), name: z.string().optional() }).optional(),
    }),
    target: z.object({ unit: z.string(), pathHint: z.string().optional(), host: z.object({ name: z.string() }) }),
    host: z.object({ address: z.string(), port: z.number(), user: z.string() }).optional(),
  }),
  /** soar serve started the run while another run of its host was active: it acts once that one ends. */
  'run.held': z.object({ behind: z.string(), host: z.string() }),
  /** Another process took the run over: the one that drove it before stopped renewing its lease, or is gone. */
  'run.taken_over': takeover,
  /** This run took its host's lease (held while a run acts on the host) from a process that stopped renewing it, or is gone. */
  'host.taken_over': takeover.extend({ host: z.string() }),
  'step.started': z.object({ step: z.string(), action: z.string(), attempt: z.number() }),
  'command.sent': z.object({ step: z.string(), purpose: z.string(), argv: z.array(z.string()) }),
  'command.returned': z.object({
    step: z.string(),
    purpose: z.string(),
    result: z.object({
      exitCode: z.number().nullable(),
      signal: z.string().nullable(),
      durationMs: z.number(),
      timedOut: z.boolean(),
      outcomeUnknown: z.boolean(),
      startedAt: z.string().optional(),
      stdout: output,
      stderr: output,
    }),
  }),
  'step.result': z.object({ step: z.string(), outcome: z.string(), summary: z.string(), changed: z.boolean(), evidence: z.record(z.string(), z.unknown()) }),
  'step.failed': z.object({ step: z.string(), code: z.string(), message: z.string(), retryable: z.boolean() }),
  'step.unknown': z.object({ step: z.string(), message: z.string() }),
  /** With inPlace, the durable runtime records the settled result too (outcome, summary, evidence). */
  'step.settled': z.object({
    step: z.string(),
    inPlace: z.boolean(),
    outcome: z.string().optional(),
    summary: z.string().optional(),
    changed: z.boolean().optional(),
    evidence: z.record(z.string(), z.unknown()).optional(),
  }),
  'approval.requested': z.object({
    step: z.string(),
    stepHash: z.string(),
    count: z.number(),
    roles: z.array(z.string()),
    expiresAt: z.string(),
    commands: z.array(z.object({ purpose: z.string() })),
  }),
  'approval.granted': z.object({ step: z.string(), stepHash: z.string(), reason: z.string() }),
  'approval.denied': z.object({ step: z.string(), stepHash: z.string(), reason: z.string() }),
  'approval.expired': z.object({ step: z.string() }),
  /** A decision the desk would not count (not an eligible approver, a stale step hash). */
  'approval.refused': z.object({ step: z.string(), why: z.string(), decision: z.string().optional() }),
  'retry.scheduled': z.object({ step: z.string(), attempt: z.number(), delayMs: z.number() }),
  transition: z.object({ event: z.object({ type: z.string(), step: z.string().optional() }), from: z.unknown().optional(), to: z.unknown() }),
  'case.built': z.object({ title: z.string(), severity: z.string(), status: z.string(), findings: z.array(z.unknown()).optional() }),
  'run.finished': z.object({ status: z.string(), outcomes: z.record(z.string(), z.string()), escalation: escalation.optional() }),
  'input.refused': z.object({ code: z.string(), message: z.string() }),
};

type Schemas = typeof SCHEMAS;

interface EntryBase {
  seq: number;
  time: string;
  run: string;
  actor: string;
}

export type KnownEntry = { [K in keyof Schemas]: EntryBase & { kind: K; data: z.output<Schemas[K]> } }[keyof Schemas];
export type OtherEntry = EntryBase & { kind: 'other'; recordKind: string; data: unknown };
export type Entry = KnownEntry | OtherEntry;

export function readEntry(record: AuditRecord): Entry {
  const base = { seq: record.seq, time: record.time, run: record.run, actor: record.actor };
  const schema = Object.hasOwn(SCHEMAS, record.kind) ? SCHEMAS[record.kind as keyof Schemas] : undefined;
  const parsed = schema?.safeParse(record.data);
  if (parsed?.success) return { ...base, kind: record.kind, data: parsed.data } as KnownEntry;
  return { ...base, kind: 'other', recordKind: record.kind, data: record.data };
}

/** The step a record is about, when it names one. */
export function entryStep(entry: Entry): string | undefined {
  if (entry.kind === 'other' || !('step' in entry.data)) return undefined;
  return typeof entry.data.step === 'string' ? entry.data.step : undefined;
}
