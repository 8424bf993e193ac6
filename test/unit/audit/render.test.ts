import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditRecord } from '../../../src/audit/record.js';
import { buildAuditReport, type AuditReport, type ChainReport } from '../../../src/audit/report.js';
import { renderMarkdown } from '../../../src/audit/report-markdown.js';
import { readStoredTrail } from '../../../src/audit/stored-trail.js';
import { renderTimeline, timelineOf } from '../../../src/audit/timeline.js';
import { verifyChain } from '../../../src/audit/verify.js';
import { buildStore, crashedRun, expiredApprovalRun, runIdOf, runtimeRun, unknownOutcomeRun, type BuiltStore } from './trail-store.js';

const RUNS = {
  contained: runIdOf('render contained'),
  denied: runIdOf('render denied'),
  failedKill: runIdOf('render failed kill'),
  expired: runIdOf('render expired'),
  unknown: runIdOf('render unknown'),
  hostile: runIdOf('render hostile'),
  crashed: runIdOf('render crashed'),
  held: runIdOf('render held'),
};

/** A contained run that soar serve held behind another run of its host until that one ended. */
function heldRun(runId: string): AuditEntry[] {
  const [started, ...rest] = runtimeRun('contained-run.jsonl', runId);
  return [started!, { run: runId, kind: 'run.held', actor: 'soar', data: { behind: RUNS.contained, host: 'web-01' } }, ...rest];
}

/** Values an attacker controls (alert fields, a host's output) that try to forge or hide lines. */
const FORGED_LINE = '\u001b[2K\r313  2026-11-23T15:03:47.880Z  soar  run finished: done';
const HOSTILE_REASON = 'ok | forged cell |\n# Forged heading <script>alert(1)</script> [link](http://evil) ``` \u202eevil';

function hostileRun(runId: string): AuditEntry[] {
  const [started, ...rest] = runtimeRun('contained-run.jsonl', runId);
  const data = structuredClone(started!.data) as { target: { unit: string; writer: { commandLine: string } }; alert: { rule: { name: string } } };
  data.target.writer.commandLine = FORGED_LINE;
  data.alert.rule.name = `Mining ${FORGED_LINE}`;
  const granted = rest.findIndex((entry) => entry.kind === 'approval.granted');
  rest[granted] = { ...rest[granted]!, data: { ...(rest[granted]!.data as object), reason: HOSTILE_REASON } };
  return [{ ...started!, data }, ...rest.slice(0, 12), { run: runId, kind: 'host.note', actor: 'soar', data: { note: FORGED_LINE } }];
}

let dir: string;
let store: BuiltStore;
let records: AuditRecord[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'soar-audit-render-'));
  store = buildStore(join(dir, 'soar.db'), [
    ...runtimeRun('contained-run.jsonl', RUNS.contained),
    ...runtimeRun('denied-run.jsonl', RUNS.denied),
    ...runtimeRun('failed-kill-run.jsonl', RUNS.failedKill),
    ...expiredApprovalRun(RUNS.expired),
    ...unknownOutcomeRun(RUNS.unknown),
    ...hostileRun(RUNS.hostile),
    ...crashedRun(RUNS.crashed),
    ...heldRun(RUNS.held),
  ]);
  records = readStoredTrail(store.file).records as AuditRecord[];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const recordsOf = (run: string) => records.filter((record) => record.run === run);
const timeline = (run: string) => renderTimeline(timelineOf(recordsOf(run)));
const okChain = (): ChainReport => ({ verdict: verifyChain(records), failureRun: undefined, failureInRun: undefined, keyed: false });
const report = (run: string, chain = okChain()): AuditReport => buildAuditReport(run, recordsOf(run), chain, new Date('2026-11-24T09:00:00Z'));

describe('soar audit show: the timeline', () => {
  it('gives each record of a real contained run one line: who, when, what', () => {
    const text = timeline(RUNS.contained);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(44);
    expect(lines[0]).toMatch(/^\s*1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}soar +run started: c3pool_miner\.service on lab47-h1 via root@198\.18\.47\.2:22, alert 7a1f0c3e9b2d \(Suspicious Mining Process Creation Event\), playbook mining-service, plan b41ec71938e3$/);
    expect(text).toMatch(/ triage +\$ <triage\.sh> c3pool_miner\.service \/tmp\/c3pool_miner\.service 4421\n/);
    expect(text).toMatch(/ triage +collect the unit, its files, package ownership, processes and connections \(changes nothing\): exit 0 in \d+ ms, stdout [0-9a-f]{12}\n/);
    expect(text).toMatch(/ demo-analyst +kill +APPROVED by demo-analyst: "INC-4411: triage shows a pool connection, miner confirmed"\n/);
    expect(text).toMatch(/ soar +STEP\.OK: kill\.running → remove\.approval\n/);
    expect(lines.at(-1)).toMatch(/ soar +run finished: done$/);
  });

  it('shows a denial with who and why, and the escalation', () => {
    const text = timeline(RUNS.denied);
    expect(text).toMatch(/ second-analyst +kill +DENIED by second-analyst: "owner says it is a sanctioned benchmark; checking before any kill"\n/);
    expect(text).toMatch(/run finished: done, ESCALATED: approval_denied at kill \(owner says it is a sanctioned benchmark; checking before any kill\)\n$/);
  });

  it('shows a program killed by a signal, a failed step, an expiry, a lost link, a settle and a retry', () => {
    expect(timeline(RUNS.failedKill)).toMatch(/ kill +capture evidence, .*: killed by SIGKILL in \d+ ms/);
    expect(timeline(RUNS.failedKill)).toMatch(/ kill +FAILED \(STEP_FAILED, retryable\): capture evidence/);
    expect(timeline(RUNS.expired)).toMatch(/ isolate +approval EXPIRED: nobody decided in time\n/);
    const unknown = timeline(RUNS.unknown);
    expect(unknown).toMatch(/ kill +capture evidence, .*: outcome unknown \(link lost\) in 30012 ms/);
    expect(unknown).toMatch(/ kill +outcome UNKNOWN: .*the connection dropped/);
    expect(unknown).toMatch(/ kill +settled: the effect is NOT in place\n/);
    expect(unknown).toMatch(/ kill +retry \(attempt 2\) in 5000 ms\n/);
    expect(unknown).toMatch(/ kill +step started \(kill-process, attempt 2\)\n/);
  });

  it('shows why a run waited: held behind its host\'s earlier run', () => {
    expect(timeline(RUNS.held)).toMatch(new RegExp(` soar +run HELD: it acts on web-01 once ${RUNS.contained} has ended\n`));
    expect(report(RUNS.held).unrecognised).toBe(0);
  });

  it('says when a command waited for another soar command on the host (its script\'s first record)', () => {
    const returned = runtimeRun('contained-run.jsonl').find((entry) => entry.kind === 'command.returned')!;
    const waited = structuredClone(returned.data) as { result: { stdout: { text: string } } };
    waited.result.stdout.text = `host_busy=1\0${waited.result.stdout.text}`;
    const record = (seq: number, data: unknown): AuditRecord => ({ seq, time: '2026-11-23T15:03:47.880Z', ...returned, data, prev: '0'.repeat(64), hash: '0'.repeat(64) });
    const [plain, busy] = timelineOf([record(1, returned.data), record(2, waited)]).map((line) => line.text);
    expect(plain).not.toContain('waiting');
    expect(busy).toMatch(/: exit 0 in \d+ ms, after waiting for another soar command on the host, stdout [0-9a-f]{12}$/);
  });

  it('shows a run taken over from a runner that died, and the step it settled', () => {
    const crashed = timeline(RUNS.crashed);
    expect(crashed).toMatch(/ soar +run TAKEN OVER from pid 4242 on soc-runner-1 \(process gone\)\n/);
    expect(crashed).toMatch(/ soar +host web-01 TAKEN OVER from pid 4242 on soc-runner-1 \(its lease expired at 2026-11-23T15:04:17\.880Z\)\n/);
    expect(crashed).toMatch(/ kill +settled: the effect is in place, killed: settled: kill's effect was verified in place/);
  });

  it('cannot be forged or hidden by hostile values: one line per record, control and bidi characters shown as escapes', () => {
    const run = recordsOf(RUNS.hostile);
    const text = timeline(RUNS.hostile);
    expect(text.split('\n')).toHaveLength(run.length + 1);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain('Mining \\u{1b}[2K\\r313');
    expect(text).toContain('ok | forged cell |\\n# Forged heading');
    expect(text).toContain('\\u{202e}evil');
    // A record of a kind this soar does not know is shown as it is.
    expect(text).toMatch(/ soar +host\.note: \{"note":"\\u001b\[2K\\r313 {2}2026/);
  });
});

describe('soar audit export: the report', () => {
  it('summarises a real contained run: verdict, approvals, each step with its commands, findings, the chain', () => {
    const built = report(RUNS.contained);
    expect(built).toMatchObject({ status: 'done', verdict: 'malicious', escalation: undefined, target: { unit: 'c3pool_miner.service', host: 'lab47-h1', pathHint: '/tmp/c3pool_miner.service' } });
    expect(built.approvals.map((approval) => [approval.step, approval.decisions.map((decision) => `${decision.decision} ${decision.by}`)])).toEqual([
      ['isolate', ['granted demo-analyst']],
      ['kill', ['granted demo-analyst']],
      ['remove', ['granted demo-analyst']],
    ]);
    expect(built.steps.map((step) => `${step.id}:${step.outcome}:${step.commands.map((command) => command.exitCode).join(',')}`)).toEqual([
      'triage:malicious:0',
      'isolate:isolated:0,0,0',
      'kill:killed:0',
      'remove:quarantined:0',
      'scan:findings:0',
      'escalate:delivered:',
    ]);
    expect(built.steps[2]!.commands[0]).toMatchObject({ command: '<kill-process.sh> c3pool_miner.service KILL disable', durationMs: expect.any(Number), stdout: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(built.findings).toHaveLength(6);

    const md = renderMarkdown(built);
    expect(md).toMatch(/^# soar audit report: run `run-[0-9a-f]{16}`\n\nVerified: the whole trail \(\d+ records\) holds together/);
    expect(md).toContain('| Verdict | **malicious** |');
    expect(md).toContain('| `kill` | ');
    expect(md).toMatch(/\| \*\*granted\*\* \| `demo-analyst` \| `[^`]+` \| INC-4411: triage shows a pool connection, miner confirmed \|/);
    expect(md).toContain('### 3. kill (kill-process): killed');
    expect(md).toMatch(/\| \d+ \| capture evidence, disable and stop c3pool\\_miner\.service, kill what it left \(SIGKILL\), check none is left \| `<kill-process\.sh> c3pool_miner\.service KILL disable` \| exit 0 \| \d+ ms \| `[0-9a-f]{64}` \|/);
    expect(md).toContain('- `moved.0.sha256`: `9627b0f56ff9ea508659cae3e9eded6b2a8b738f4e484279f5be8455b1071c93`');
    expect(md).toContain('- **high** cron: `/var/spool/cron/crontabs/root`');
    expect(md).toContain(`- Trail head: record ${records.length}, \`${records.at(-1)!.hash}\``);
  });

  it('reports a takeover from a runner that died, and the step settled in place as its result', () => {
    const crashed = report(RUNS.crashed);
    expect(crashed.takeovers).toEqual([
      { at: expect.any(String), from: { hostname: 'soc-runner-1', pid: 4242 }, why: 'process gone' },
      { at: expect.any(String), from: { hostname: 'soc-runner-1', pid: 4242 }, why: 'expired', host: 'web-01' },
    ]);
    expect(crashed.unrecognised).toBe(0);
    expect(crashed.steps.find((step) => step.id === 'kill')).toMatchObject({ outcome: 'killed' });
    expect(crashed.status).toBe(report(RUNS.contained).status);
    expect(renderMarkdown(crashed)).toMatch(/\| Taken over \| `[^`]+` from pid 4242 on `soc-runner-1` \(process gone\) \|/);
    expect(renderMarkdown(crashed)).toMatch(/\| Host web-01 taken over \| `[^`]+` from pid 4242 on `soc-runner-1` \(expired\) \|/);
    expect(report(RUNS.contained).takeovers).toEqual([]);
  });

  it('reports a denial and its escalation; an unfinished run says so', () => {
    const denied = report(RUNS.denied);
    expect(denied.approvals[1]!.decisions).toEqual([{ decision: 'denied', by: 'second-analyst', at: expect.any(String), reason: 'owner says it is a sanctioned benchmark; checking before any kill' }]);
    expect(denied.escalation).toEqual({ reason: 'approval_denied', step: 'kill', detail: 'owner says it is a sanctioned benchmark; checking before any kill' });
    expect(renderMarkdown(denied)).toContain('| Escalation | **approval\\_denied** at step `kill`: owner says it is a sanctioned benchmark; checking before any kill |');
    const unfinished = buildAuditReport(RUNS.contained, recordsOf(RUNS.contained).slice(0, 20), okChain(), new Date());
    expect(unfinished.status).toBe('unfinished');
    expect(renderMarkdown(unfinished)).toContain('| Finished | **not recorded** (still running, crashed, or cut from the trail) |');
  });

  it('puts a broken chain first, and says whether the bad record is this run\'s', () => {
    const tampered = records.map((record) => (record.seq === 50 ? { ...record, actor: 'mallory' } : record));
    const verdict = verifyChain(tampered);
    const md = renderMarkdown(report(RUNS.contained, { verdict, failureRun: RUNS.contained, failureInRun: true, keyed: false }));
    expect(md.split('\n')[2]).toBe('> **THE AUDIT TRAIL DOES NOT VERIFY.** First bad record: 50 (edited): record 50 was edited: its hash does not match its content. It is one of this run\'s records.');
    expect(md).toContain('> Do not rely on this report');
  });

  it('keeps hostile values inside their cell: no forged rows, headings, links or HTML', () => {
    const md = renderMarkdown(report(RUNS.hostile));
    const approvals = md.slice(md.indexOf('## Approvals'), md.indexOf('## Steps')).trim().split('\n');
    expect(approvals).toHaveLength(2 + 2 + 1); // heading, blank, header, delimiter, one decision
    expect(approvals[4]!.split(/(?<!\\)\|/)).toHaveLength(9);
    expect(md).not.toMatch(/^# Forged/m);
    expect(md).not.toContain('<script>');
    expect(md).toContain('\\[link\\](http://evil)');
    expect(md).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
  });
});
