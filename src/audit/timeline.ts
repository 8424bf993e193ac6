import { canonicalJson } from '../canonical-json.js';
import { shellQuote } from '../command/quote.js';
import { entryStep, readEntry, type Entry } from './entries.js';
import { clip, printable } from './printable.js';
import type { AuditRecord } from './record.js';

/** One line of a run's timeline: who did what, when. */
export interface TimelineLine {
  seq: number;
  time: string;
  actor: string;
  kind: string;
  step: string | undefined;
  text: string;
}

const short = (hash: string) => printable(hash.slice(0, 12));

/** A command as sent, with a `sh -c` script shown by name (<triage.sh>) and its arguments quoted. */
export function shownCommand(argv: readonly string[]): string {
  const [program, flag, , name, ...args] = argv;
  const shown = program === 'sh' && flag === '-c' && name !== undefined ? [`<${name.replace(/^soar-/, '')}.sh>`, ...args.map(quoted)] : argv.map(quoted);
  return printable(shown.join(' '));
}

const quoted = (arg: string) => shellQuote(arg.replace(/\0/g, '\\0'));

/** The record a remote script prints first when another soar command held the host (prelude.sh's lock). */
const HOST_BUSY = 'host_busy=1\0';

/** How a program ended, in words: exit status, signal, timeout or unknown, and how long it took. */
export function ending(result: { exitCode: number | null; signal: string | null; timedOut: boolean; outcomeUnknown: boolean; durationMs: number }): string {
  const how = result.outcomeUnknown
    ? 'outcome unknown (link lost)'
    : result.timedOut
      ? 'timed out'
      : result.exitCode !== null
        ? `exit ${result.exitCode}`
        : `killed by ${printable(result.signal ?? 'a signal')}`;
  return `${how} in ${result.durationMs} ms`;
}

/** A machine state value ({isolate: 'approval'}) as isolate.approval. */
function stateName(value: unknown): string {
  if (typeof value === 'string') return printable(value);
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([key, inner]) => `${printable(key)}.${stateName(inner)}`)
      .join(',');
  }
  return printable(String(value));
}

/** Whose lease was taken over, and why it was free to take. */
function takenFrom({ from, why, expiredAt }: { from: { hostname: string; pid: number }; why: string; expiredAt: string }): string {
  const lapse = why === 'expired' ? `its lease expired at ${printable(expiredAt)}` : printable(why);
  return `from pid ${from.pid} on ${printable(from.hostname)} (${lapse})`;
}

function describe(entry: Entry): string {
  switch (entry.kind) {
    case 'run.started': {
      const { alert, target, playbook, plan, host } = entry.data;
      const rule = alert.rule?.name ? ` (${clip(alert.rule.name, 80)})` : '';
      const via = host ? ` via ${printable(host.user)}@${printable(host.address)}:${host.port}` : '';
      return `run started: ${printable(target.unit)} on ${printable(target.host.name)}${via}, alert ${short(alert.id)}${rule}, playbook ${printable(playbook.id)}, plan ${short(plan)}`;
    }
    case 'run.held':
      return `run HELD: it acts on ${printable(entry.data.host)} once ${printable(entry.data.behind)} has ended`;
    case 'run.taken_over':
      return `run TAKEN OVER ${takenFrom(entry.data)}`;
    case 'host.taken_over':
      return `host ${printable(entry.data.host)} TAKEN OVER ${takenFrom(entry.data)}`;
    case 'step.started':
      return `step started (${printable(entry.data.action)}, attempt ${entry.data.attempt})`;
    case 'command.sent':
      return `$ ${clip(shownCommand(entry.data.argv), 200)}`;
    case 'command.returned': {
      const { result, purpose } = entry.data;
      const waited = result.stdout.text.startsWith(HOST_BUSY) ? ', after waiting for another soar command on the host' : '';
      return `${clip(purpose, 100)}: ${ending(result)}${waited}, stdout ${short(result.stdout.sha256)}${result.stdout.cut ? ' (cut)' : ''}`;
    }
    case 'step.result':
      return `${printable(entry.data.outcome)}${entry.data.changed ? '' : ' (nothing changed)'}: ${clip(entry.data.summary, 160)}`;
    case 'step.failed':
      return `FAILED (${printable(entry.data.code)}${entry.data.retryable ? ', retryable' : ''}): ${clip(entry.data.message, 160)}`;
    case 'step.unknown':
      return `outcome UNKNOWN: ${clip(entry.data.message, 160)}`;
    case 'step.settled': {
      const { inPlace, outcome, summary } = entry.data;
      return `settled: the effect is ${inPlace ? 'in place' : 'NOT in place'}${outcome ? `, ${printable(outcome)}` : ''}${summary ? `: ${clip(summary, 160)}` : ''}`;
    }
    case 'approval.requested': {
      const { count, roles, expiresAt, commands, stepHash } = entry.data;
      return `approval requested: ${count} of ${roles.map(printable).join(' or ') || 'any approver'}, until ${printable(expiresAt)}, ${commands.length} command(s), step ${short(stepHash)}`;
    }
    case 'approval.granted':
      return `APPROVED by ${printable(entry.actor)}: "${clip(entry.data.reason, 160)}"`;
    case 'approval.denied':
      return `DENIED by ${printable(entry.actor)}: "${clip(entry.data.reason, 160)}"`;
    case 'approval.expired':
      return 'approval EXPIRED: nobody decided in time';
    case 'approval.refused':
      return `decision REFUSED from ${printable(entry.actor)}${entry.data.decision ? ` (${printable(entry.data.decision)})` : ''}: ${clip(entry.data.why, 160)}`;
    case 'retry.scheduled':
      return `retry (attempt ${entry.data.attempt}) in ${entry.data.delayMs} ms`;
    case 'transition': {
      const { event, from, to } = entry.data;
      return `${printable(event.type)}: ${from === undefined ? '' : `${stateName(from)} `}→ ${stateName(to)}`;
    }
    case 'case.built':
      return `case built: "${clip(entry.data.title, 120)}" (severity ${printable(entry.data.severity)}, ${entry.data.findings?.length ?? 0} finding(s))`;
    case 'run.finished': {
      const { status, escalation } = entry.data;
      const escalated = escalation ? `, ESCALATED: ${printable(escalation.reason)} at ${printable(escalation.step)}${escalation.detail ? ` (${clip(escalation.detail, 120)})` : ''}` : '';
      return `run finished: ${printable(status)}${escalated}`;
    }
    case 'input.refused':
      return `input refused (${printable(entry.data.code)}): ${clip(entry.data.message, 160)}`;
    case 'other':
      return `${printable(entry.recordKind)}: ${clip(canonicalJson(entry.data ?? null), 160)}`;
  }
}

export function timelineOf(records: readonly AuditRecord[]): TimelineLine[] {
  return records.map((record) => {
    const entry = readEntry(record);
    return { seq: record.seq, time: record.time, actor: record.actor, kind: record.kind, step: entryStep(entry), text: describe(entry) };
  });
}

/** The timeline as text, one line per record: seq, time, actor, step, what happened. */
export function renderTimeline(lines: readonly TimelineLine[]): string {
  const actorWidth = Math.min(20, Math.max(5, ...lines.map((line) => printable(line.actor).length)));
  const stepWidth = Math.min(16, Math.max(0, ...lines.map((line) => printable(line.step ?? '').length)));
  const seqWidth = String(lines.at(-1)?.seq ?? 0).length;
  return lines
    .map((line) =>
      [String(line.seq).padStart(seqWidth), printable(line.time), clip(line.actor, actorWidth).padEnd(actorWidth), clip(line.step ?? '', stepWidth).padEnd(stepWidth), line.text]
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}
