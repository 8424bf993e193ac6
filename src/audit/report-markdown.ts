import { clip } from './printable.js';
import type { AuditReport, CommandReport, StepReport } from './report.js';
import { ending } from './timeline.js';

/** Evidence leaves shown per step; the JSON export has them all. */
const EVIDENCE_LINES = 12;

/** Text in a table cell or a paragraph: nothing in it can start markup, a link, HTML or an entity. */
function text(value: string, max = 300): string {
  return clip(value, max).replace(/[\\`*_[\]<>~#&]/g, (char) => `\\${char}`);
}

/** A code span that holds any text: its fence is longer than any run of backticks inside. */
function code(value: string, max = 300): string {
  const shown = clip(value, max);
  const longest = Math.max(0, ...(shown.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = shown.startsWith('`') || shown.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${shown}${pad}${fence}`;
}

/** A table row: a `|` inside a cell (text or code span) is escaped, so it cannot open a new cell. */
const row = (cells: readonly string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)];
}

function chainLines(report: AuditReport): string[] {
  const { verdict, failureRun, failureInRun, keyed } = report.chain;
  const mode = keyed ? 'HMAC-SHA256 with the configured key' : 'sha256 (no key: a rewriter of the whole store could re-chain it)';
  if (!verdict.ok) {
    const where = failureRun === undefined ? 'It is gone, so its run cannot be told.' : failureInRun ? 'It is one of this run\'s records.' : `It belongs to another run, ${code(failureRun)}.`;
    return [
      `> **THE AUDIT TRAIL DOES NOT VERIFY.** First bad record: ${verdict.seq} (${verdict.problem}): ${text(verdict.message)}. ${where}`,
      '> Do not rely on this report: keep the store and its head file as evidence.',
      '',
      `Hashing: ${mode}.`,
    ];
  }
  const anchor = verdict.anchored
    ? `the head anchor vouches for its end${verdict.unanchored > 0 ? ` up to record ${verdict.last!.seq - verdict.unanchored} (${verdict.unanchored} later record(s) unanchored)` : ''}`
    : 'no head anchor was checked, so a cut from its end could not be seen';
  return [
    `Verified: the whole trail (${verdict.count} records) holds together; ${anchor}.`,
    '',
    `- Hashing: ${mode}`,
    `- Trail head: record ${verdict.last?.seq ?? 0}, ${code(verdict.last?.hash ?? 'none')}`,
    `- This run's records: ${report.recordSpan.count}, first ${report.recordSpan.first ? `${report.recordSpan.first.seq} ${code(report.recordSpan.first.hash)}` : 'none'}, last ${report.recordSpan.last ? `${report.recordSpan.last.seq} ${code(report.recordSpan.last.hash)}` : 'none'}`,
  ];
}

function summaryLines(report: AuditReport): string[] {
  const rows: Array<[string, string]> = [];
  if (report.alert) {
    const rule = report.alert.rule?.name ? `, rule ${text(report.alert.rule.name)}` : '';
    rows.push(['Alert', `${code(report.alert.id)}${rule}, fired ${code(report.alert.timestamp)}`]);
  }
  if (report.target) rows.push(['Target', `${code(report.target.unit)} on ${code(report.target.host)}${report.target.pathHint ? `, alert path ${code(report.target.pathHint)}` : ''}`]);
  if (report.connection) rows.push(['Reached as', code(`${report.connection.user}@${report.connection.address}:${report.connection.port}`)]);
  if (report.playbook) rows.push(['Playbook', `${code(report.playbook.id)}: ${text(report.playbook.title)}`]);
  if (report.plan) rows.push(['Plan', code(report.plan)]);
  rows.push(['Started', report.startedAt ? code(report.startedAt) : 'not recorded']);
  rows.push(['Finished', report.finishedAt ? code(report.finishedAt) : '**not recorded** (still running, crashed, or cut from the trail)']);
  rows.push(['Status', `**${text(report.status)}**`]);
  rows.push(['Verdict', report.verdict ? `**${text(report.verdict)}**` : 'not triaged']);
  const escalation = report.escalation;
  rows.push(['Escalation', escalation ? `**${text(escalation.reason)}** at step ${code(escalation.step)}${escalation.detail ? `: ${text(escalation.detail)}` : ''}` : 'none']);
  if (report.case) rows.push(['Case', `${text(report.case.title)} (severity ${text(report.case.severity)})`]);
  for (const takeover of report.takeovers) rows.push([takeover.host === undefined ? 'Taken over' : `Host ${text(takeover.host)} taken over`, `${code(takeover.at)} from pid ${takeover.from.pid} on ${code(takeover.from.hostname)} (${text(takeover.why)})`]);
  for (const refused of report.refused) rows.push(['Input refused', `${code(refused.code)}: ${text(refused.message)}`]);
  return table(['Field', 'Value'], rows);
}

function approvalLines(report: AuditReport): string[] {
  if (report.approvals.length === 0) return ['No approval was requested.'];
  const rows = report.approvals.flatMap((approval) => {
    const asked = `${approval.count} of ${approval.roles.map((role) => text(role)).join(' or ') || 'any approver'}`;
    const decisions = approval.decisions.length > 0 ? approval.decisions : [undefined];
    return decisions.map((decision) => [
      code(approval.step),
      `${code(approval.requestedAt)}, ${asked}`,
      decision ? `**${decision.decision}**` : '**pending**',
      decision ? code(decision.by) : '',
      decision ? code(decision.at) : '',
      decision?.reason === undefined ? '' : text(decision.reason),
      code(approval.stepHash.slice(0, 16)),
    ]);
  });
  return table(['Step', 'Requested', 'Decision', 'By', 'At', 'Why', 'Step hash'], rows);
}

function commandRow(command: CommandReport): string[] {
  return [
    String(command.seq),
    text(command.purpose, 160),
    command.command === undefined ? '' : code(command.command, 240),
    ending(command).replace(/ in \d+ ms$/, ''),
    `${command.durationMs} ms`,
    `${code(command.stdout.sha256)}${command.stdout.cut ? ' (text cut)' : ''}`,
    `${code(command.stderr.sha256)}${command.stderr.cut ? ' (text cut)' : ''}`,
  ];
}

/** Leaves a reviewer looks for first: hashes, paths, processes, states. */
const SALIENT = /sha256|path|exe|pid|state|active|enabled|manifest|management|peer|from|to$|kind|severity|reason/i;

/** The evidence's scalar leaves as `path: value`, the salient ones first, at most `limit`, and how many there are. */
function evidenceLeaves(evidence: Record<string, unknown>, limit: number): { shown: string[]; total: number } {
  const leaves: Array<[string, unknown]> = [];
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
    } else {
      leaves.push([path, value]);
    }
  };
  walk(evidence, '');
  const ordered = [...leaves.filter(([path]) => SALIENT.test(path)), ...leaves.filter(([path]) => !SALIENT.test(path))];
  return { shown: ordered.slice(0, limit).map(([path, value]) => `${code(path, 80)}: ${code(String(value), 160)}`), total: leaves.length };
}

function stepLines(step: StepReport, index: number): string[] {
  const lines = [`### ${index + 1}. ${text(step.id)}${step.action ? ` (${text(step.action)})` : ''}: ${text(step.outcome ?? (step.failures.length > 0 ? 'failed' : 'no result'))}`, ''];
  lines.push(`Attempts: ${step.attempts}.${step.changed === false ? ' Changed nothing on the host.' : ''}`);
  if (step.summary) lines.push('', text(step.summary, 600));
  for (const failure of step.failures) lines.push('', `- Failed at record ${failure.seq} (${code(failure.code)}${failure.retryable ? ', retryable' : ''}): ${text(failure.message, 600)}`);
  for (const message of step.unknown) lines.push('', `- Outcome unknown: ${text(message, 600)}`);
  if (step.commands.length > 0) {
    lines.push('', ...table(['Record', 'Purpose', 'Command', 'Ended', 'Duration', 'stdout sha256', 'stderr sha256'], step.commands.map(commandRow)));
  }
  if (step.evidence && Object.keys(step.evidence).length > 0) {
    const { shown, total } = evidenceLeaves(step.evidence, EVIDENCE_LINES);
    lines.push('', 'Evidence highlights:', '', ...shown.map((leaf) => `- ${leaf}`));
    if (total > shown.length) lines.push(`- … ${total - shown.length} more in the JSON export`);
  }
  return [...lines, ''];
}

function findingLines(report: AuditReport): string[] {
  if (report.findings.length === 0) return ['None recorded.'];
  return report.findings.map((finding) => {
    const { kind, path, evidence, severity } = (finding ?? {}) as Record<string, unknown>;
    if (typeof kind === 'string' && typeof path === 'string') {
      return `- **${text(String(severity ?? 'unrated'))}** ${text(kind)}: ${code(path)}${typeof evidence === 'string' ? `: ${text(evidence)}` : ''}`;
    }
    return `- ${code(JSON.stringify(finding) ?? 'null')}`;
  });
}

/** The report as Markdown: summary, approvals, each step with its commands, findings, the chain. */
export function renderMarkdown(report: AuditReport): string {
  const lines = [
    `# soar audit report: run ${code(report.run)}`,
    '',
    ...chainLines(report),
    '',
    '## Summary',
    '',
    ...summaryLines(report),
    '',
    '## Approvals',
    '',
    ...approvalLines(report),
    '',
    '## Steps',
    '',
    ...(report.steps.length > 0 ? report.steps.flatMap(stepLines) : ['No step ran.', '']),
    '## Findings',
    '',
    ...findingLines(report),
    '',
    ...(report.unrecognised > 0 ? [`${report.unrecognised} record(s) of a kind or shape this soar does not know: see \`soar audit show\`.`, ''] : []),
    `Generated ${code(report.generatedAt)} by soar from the audit trail.`,
    '',
  ];
  return lines.join('\n');
}
