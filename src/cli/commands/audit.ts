import { writeFile } from 'node:fs/promises';
import { auditHeadFile } from '../../audit/head.js';
import { auditKey } from '../../audit/key.js';
import { printable } from '../../audit/printable.js';
import { buildAuditReport, type ChainReport } from '../../audit/report.js';
import { renderMarkdown } from '../../audit/report-markdown.js';
import { renderTimeline, timelineOf } from '../../audit/timeline.js';
import { chainReport, readVerifiedTrail, recordsOf, requireRecords, type Trail } from '../../audit/verified-trail.js';
import { storePath } from '../../config/config.js';
import { EXIT, parseCommandArgs, UsageError, writeJson, type Io } from '../command.js';
import type { CliCommand } from '../command.js';
import { configFrom } from '../defaults.js';

const COMMON = { store: { type: 'string' }, config: { type: 'string' } } as const;

export const auditCommand: CliCommand = {
  name: 'audit',
  help: `Usage: soar audit verify [RUN] [--store FILE] [--config FILE] [--json]
       soar audit show RUN [--store FILE] [--config FILE] [--json]
       soar audit export RUN --format json|md [--out FILE] [--store FILE] [--config FILE]

verify  checks the whole trail (every run's records form one chain): any edit, deletion,
        insertion, reordering or cut from the end is found, and the first bad record is named.
        With RUN, also says whether that record is one of RUN's. The end of the trail is checked
        against the head anchor kept beside the store (STORE.audit-head).
show    prints RUN's timeline, one line per record: time, actor, what happened (commands with
        their exit status and duration, approvals with who and why, escalation, final status).
export  writes RUN's report for a reviewer: summary, verdict, approvals, each step's commands
        with exit codes, durations and output hashes, evidence highlights, findings, and the
        trail's verification. json adds every record of the run.

Options:
  --store FILE      the store (default: config store, else $SOAR_STORE, else ./soar.db)
  --config FILE     settings: the store and the audit HMAC key, audit.key (default: $SOAR_CONFIG, else ./soar.yaml)
  --format FORMAT   export: json or md
  --out FILE        export: write here instead of standard output
  --json            verify, show: print JSON

Exit status: 0 the trail verifies, 1 it does not (show and export still print, with the
first bad record) or the store cannot be read, 2 usage, 3 the trail has no record of RUN.

Examples:
  soar audit verify --store /var/lib/soar/soar.db
  soar audit show run-e421fd51e7f41a7e
  soar audit export run-e421fd51e7f41a7e --format md --out INC-4411-soar.md
`,
  async run(args, io) {
    const [action, ...rest] = args;
    if (action === 'verify') return verifyAction(rest, io);
    if (action === 'show') return showAction(rest, io);
    if (action === 'export') return exportAction(rest, io);
    throw new UsageError(action === undefined ? 'say what to do: verify, show or export' : `unknown audit action "${action}": verify, show or export`);
  },
};

/** Reads and verifies the whole trail: every view of it says whether it can be trusted. */
async function verifiedTrail(values: { store?: string; config?: string }): Promise<Trail> {
  const { config } = await configFrom(values.config);
  return readVerifiedTrail(storePath(config, values.store), await auditKey(config));
}

/** One paragraph on the trail's state, for people. */
function verdictText(trail: Trail, chain: ChainReport, run: string | undefined): string {
  const { verdict } = chain;
  const hashing = trail.keyed ? 'HMAC-keyed' : 'sha256, no key';
  if (verdict.ok) {
    const end = verdict.last ? `head record ${verdict.last.seq} ${verdict.last.hash}` : 'empty';
    const anchor = verdict.anchored ? `anchored by ${auditHeadFile(trail.store)}` : 'no head anchor';
    const lag = verdict.unanchored > 0 ? `\nnote: the last ${verdict.unanchored} record(s) came after the head anchor was written (soar stopped between a commit and its anchor?)` : '';
    return `ok: the audit trail of ${trail.store} holds: ${verdict.count} records, ${end} (${hashing}, ${anchor})${lag}\n`;
  }
  const owner = chain.failureRun === undefined ? 'the record is gone, so its run cannot be told' : `it belongs to run ${printable(chain.failureRun)}`;
  const concerns = run === undefined || chain.failureInRun === undefined ? '' : chain.failureInRun ? ` (this run: ${printable(run)})` : ` (not run ${printable(run)})`;
  return `TAMPERED: the audit trail of ${trail.store} does not verify (${hashing}).\nfirst bad record: ${verdict.seq} (${verdict.problem}): ${printable(verdict.message)}\n${owner}${concerns}\n`;
}

async function verifyAction(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { ...COMMON, json: { type: 'boolean', default: false } }, { min: 0, max: 1 });
  const run = positionals[0];
  const trail = await verifiedTrail(values);
  const chain = chainReport(trail, run);
  const records = run === undefined ? [] : trail.verdict.ok ? requireRecords(trail, run) : recordsOf(trail, run);
  if (values.json) {
    writeJson(io, {
      store: trail.store,
      keyed: trail.keyed,
      ...trail.verdict,
      ...(trail.verdict.ok ? {} : { failureRun: chain.failureRun ?? null }),
      ...(run === undefined ? {} : { run: { id: run, records: records.length, failureInRun: chain.failureInRun ?? null } }),
    });
  } else {
    io.stdout(verdictText(trail, chain, run));
    const [first, last] = [records[0], records.at(-1)];
    if (run !== undefined) io.stdout(`run ${printable(run)}: ${records.length} record(s)${first && last ? `, seq ${first.seq} to ${last.seq}` : ''}\n`);
  }
  return trail.verdict.ok ? EXIT.ok : EXIT.failed;
}

async function showAction(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { ...COMMON, json: { type: 'boolean', default: false } }, { min: 1, max: 1 });
  const run = positionals[0]!;
  const trail = await verifiedTrail(values);
  const records = requireRecords(trail, run);
  const chain = chainReport(trail, run);
  const timeline = timelineOf(records);
  if (values.json) {
    writeJson(io, { run, store: trail.store, chain, timeline });
  } else {
    io.stdout(`${verdictText(trail, chain, run)}\nrun ${printable(run)}: ${records.length} record(s)\n\n${renderTimeline(timeline)}`);
    if (!trail.verdict.ok) io.stdout(`\nTAMPERED: this timeline comes from a trail that does not verify (first bad record ${trail.verdict.seq}).\n`);
  }
  return trail.verdict.ok ? EXIT.ok : EXIT.failed;
}

async function exportAction(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, { ...COMMON, format: { type: 'string' }, out: { type: 'string' } }, { min: 1, max: 1 });
  if (values.format !== 'json' && values.format !== 'md') throw new UsageError('--format json or --format md is required');
  const run = positionals[0]!;
  const trail = await verifiedTrail(values);
  const records = requireRecords(trail, run);
  const report = buildAuditReport(run, records, chainReport(trail, run), new Date());
  const text = values.format === 'md' ? renderMarkdown(report) : `${JSON.stringify({ ...report, store: trail.store, records }, null, 2)}\n`;
  if (values.out === undefined) {
    io.stdout(text);
  } else {
    await writeFile(values.out, text, { mode: 0o600 });
    io.stderr(`soar audit export: wrote ${values.out} (${values.format}, ${records.length} records of run ${printable(run)})${trail.verdict.ok ? '' : `; THE TRAIL DOES NOT VERIFY (first bad record ${trail.verdict.seq})`}\n`);
  }
  return trail.verdict.ok ? EXIT.ok : EXIT.failed;
}
