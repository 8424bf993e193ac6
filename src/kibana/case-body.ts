import { clip, printable } from '../audit/printable.js';
import type { SocCase } from '../escalation/case.js';
import type { AlertAttachment, AlertStatus, NewCase } from './client.js';
import { INDEX_NAME } from './grammar.js';

/** Kibana's limits on a case's title, description and comments, and on each tag. */
const MAX_TITLE = 160;
const MAX_TEXT = 30_000;
const MAX_TAG = 256;

/**
 * Text as a fenced code block, so nothing from an alert or a host can become markup, a link or
 * HTML in Kibana: the fence is longer than any run of backticks inside.
 */
export function fenced(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}

/** At most `max` characters of lines, whole lines kept, and the cut said in the last line. */
function fit(lines: readonly string[], max: number, cut: (left: number) => string): string {
  const kept: string[] = [];
  let size = 0;
  for (const [index, line] of lines.entries()) {
    if (size + line.length + 1 > max) {
      kept.push(cut(lines.length - index));
      break;
    }
    kept.push(line);
    size += line.length + 1;
  }
  return kept.join('\n');
}

/** Room left for the text inside a fence and the words around it. */
const TEXT_ROOM = MAX_TEXT - 500;

/** The tag that finds a run's case again when Kibana's answer to opening it was lost. */
export function runTag(runId: string): string {
  return `soar-${runId}`;
}

/** The case Kibana opens: the SocCase's title, what happened in plain lines, and searchable tags. */
export function caseBody(soc: SocCase): NewCase {
  const lines = [
    `soar run ${soc.runId}: ${soc.status}`,
    `host ${soc.target.host.name}, unit ${soc.target.unit}, verdict ${soc.verdict ?? 'not triaged'}, severity ${soc.severity}`,
    `alert ${soc.alert.id}${soc.alert.rule.name ? ` (${soc.alert.rule.name})` : ''} at ${soc.alert.timestamp}`,
    `playbook ${soc.playbook.id}: ${soc.playbook.title}`,
    ...(soc.escalation ? [`escalated: ${soc.escalation.reason} at ${soc.escalation.step}${soc.escalation.detail ? ` (${soc.escalation.detail})` : ''}`] : []),
    `findings: ${soc.findings.length}`,
    'steps:',
    ...soc.steps.map((step) => `  ${step.id} (${step.action}, ${step.attempts} attempt(s)): ${step.outcome ?? 'no outcome'}${step.summary ? `: ${step.summary}` : ''}${step.error ? ` [${step.error.code}: ${step.error.message}]` : ''}`),
  ].map(printable);
  return {
    title: clip(soc.title, MAX_TITLE),
    description: fenced(fit(lines, TEXT_ROOM, (left) => `… ${left} more line(s): soar audit show ${soc.runId}`)),
    tags: ['soar', soc.playbook.id, soc.verdict ?? 'not_triaged', runTag(soc.runId)].map((tag) => clip(tag, MAX_TAG)),
  };
}

/** The run's timeline as a case comment; a long one keeps its start and says where the rest is. */
export function timelineComment(soc: SocCase, timeline: string): string {
  const lines = timeline.trimEnd().split('\n');
  return `soar timeline of ${printable(soc.runId)} (${printable(soc.status)}):\n\n${fenced(fit(lines, TEXT_ROOM, (left) => `… ${left} more line(s): soar audit show ${soc.runId}`))}`;
}

/**
 * The alert as a case attachment, or why it cannot be attached: Kibana needs the alert's index,
 * from the config or from the alert itself (checked, since the alert is hostile).
 */
export function alertAttachment(soc: SocCase, configuredIndex: string | undefined): AlertAttachment | { skipped: string } {
  const index = configuredIndex ?? soc.alert.index;
  if (index === undefined) return { skipped: 'the alert names no index: set escalation.kibana.alert_index' };
  if (!INDEX_NAME.test(index)) return { skipped: `the alert's index ${JSON.stringify(clip(index, 80))} is not an index name: set escalation.kibana.alert_index` };
  return { alertId: soc.alert.id, index, rule: { id: soc.alert.rule.uuid ?? null, name: soc.alert.rule.name ?? null } };
}

/** Closed when the playbook ran its course; acknowledged when it escalated (failure, denial, expiry): a person must look. */
export function alertStatusAfter(soc: SocCase): AlertStatus {
  return soc.escalation ? 'acknowledged' : 'closed';
}
