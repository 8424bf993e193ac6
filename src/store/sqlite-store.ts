import { AuditHeadWriter } from '../audit/head.js';
import type { AuditEntry, AuditRecord } from '../audit/record.js';
import { deepFreeze } from '../deep-freeze.js';
import type { MachineSnapshot } from '../engine/machine-steps.js';
import type { RunIntent } from '../playbook/compile.js';
import type { Plan } from '../plan/plan.js';
import type { Playbook } from '../playbook/load.js';
import { AuditTable } from './audit-table.js';
import { InternedJson } from './interned-json.js';
import { openDatabase, type SqliteDatabase, type SqliteStatement } from './database.js';
import type { ApprovalRow, ApprovalState, DeadlineRow, IntentRow, LeaseRow, RunRow, RunState, RunSummary, Store, VoteRow } from './store.js';

const now = () => new Date().toISOString();
/** Distinct playbooks a store keeps read back: a few versions of a few playbooks, in practice. */
const STORED_PLAYBOOKS_HELD = 64;

/** The embedded store: one SQLite file (WAL, synchronous FULL), the audit head anchored beside it. */
export class SqliteStore implements Store {
  readonly db: SqliteDatabase;
  readonly audit: AuditTable;
  readonly #json: InternedJson;
  readonly #head: AuditHeadWriter;
  /** The last audit record of the transaction under way, anchored outside once it commits. */
  #unanchored: AuditRecord | undefined;
  /** The last committed record, waiting for the head write at the end of this turn. */
  #pendingHead: AuditRecord | undefined;
  #anchorFailure: unknown;
  /** Each statement is prepared once: preparing on every call took a twentieth of intake's CPU. */
  readonly #statements = new Map<string, SqliteStatement>();
  /** Each playbook's JSON text, written out once: a run stores its playbook as that text, held once in blobs. */
  readonly #playbookTexts = new WeakMap<Playbook, string>();
  /** Each stored playbook read back once, frozen: its runs share the one object (and the runtime its compiled machine). */
  readonly #storedPlaybooks = new Map<string, Playbook>();

  constructor(readonly file: string, options: { key?: Buffer } = {}) {
    this.db = openDatabase(file);
    this.#head = new AuditHeadWriter(file, options.key);
    this.#json = new InternedJson(this.db);
    this.audit = new AuditTable(this.db, this.#json, options.key);
  }

  #sql(text: string): SqliteStatement {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /**
   * Runs `work` in one immediate transaction. The audit trail's head is then anchored beside the
   * store (see src/audit/head.ts), once per turn of the event loop for every commit in it: the
   * runs a process drives at once share one head write. Inside another transaction, `work` runs in
   * a savepoint: rolled back alone if it throws, anchored by the outer.
   */
  transaction<T>(work: () => T): T {
    this.#throwAnchorFailure();
    if (this.db.inTransaction) {
      const anchored = this.#unanchored;
      try {
        return this.db.transaction(work)();
      } catch (error) {
        this.#unanchored = anchored;
        this.#json.rolledBack();
        throw error;
      }
    }
    try {
      const result = this.db.transaction(work).immediate();
      this.#json.committed();
      if (this.#unanchored) this.#anchorSoon(this.#unanchored);
      return result;
    } catch (error) {
      this.#json.rolledBack();
      throw error;
    } finally {
      this.#unanchored = undefined;
    }
  }

  /** Writes the head now if a commit is waiting for it (on disk before this returns), then closes the store. */
  close(): void {
    this.#anchor();
    try {
      this.#head.close();
    } catch (error) {
      this.#anchorFailure ??= error;
    }
    this.db.close();
    this.#throwAnchorFailure();
  }

  // The head only ever names a committed record; until it is written, a crash leaves it behind the
  // store (records the verifier counts as unanchored), never ahead.
  #anchorSoon(last: AuditRecord): void {
    const scheduled = this.#pendingHead !== undefined;
    this.#pendingHead = last;
    if (!scheduled) setImmediate(() => this.#anchor());
  }

  #anchor(): void {
    const last = this.#pendingHead;
    this.#pendingHead = undefined;
    if (!last) return;
    try {
      this.#head.write(last);
    } catch (error) {
      this.#anchorFailure ??= error;
    }
  }

  /** A head that could not be written fails the next transaction (or close): never silently. */
  #throwAnchorFailure(): void {
    const failure = this.#anchorFailure ?? this.#head.takeFailure();
    this.#anchorFailure = undefined;
    if (failure !== undefined) throw failure;
  }

  appendAudit(entry: AuditEntry): AuditRecord {
    this.#unanchored = this.audit.append(entry);
    return this.#unanchored;
  }

  auditRecords(run?: string): AuditRecord[] {
    return this.audit.records(run);
  }

  // Runs.

  insertRun(run: Omit<RunRow, 'createdAt' | 'updatedAt' | 'status'>): boolean {
    const info = this.#sql(
      `INSERT OR IGNORE INTO runs (id, alert_id, playbook_id, host, status, plan, plan_hash, playbook, snapshot, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)`,
    ).run(run.id, run.alertId, run.playbookId, run.host, this.#json.stringify(run.plan), run.planHash, this.#json.stringify(this.#playbookText(run.playbook)), JSON.stringify(run.snapshot), now(), now());
    return info.changes === 1;
  }

  #playbookFrom(stored: string): Playbook {
    let playbook = this.#storedPlaybooks.get(stored);
    if (playbook === undefined) {
      if (this.#storedPlaybooks.size >= STORED_PLAYBOOKS_HELD) this.#storedPlaybooks.clear();
      playbook = deepFreeze(fromStored(this.#json.parse(stored)));
      this.#storedPlaybooks.set(stored, playbook);
    }
    return playbook;
  }

  #playbookText(playbook: Playbook): string {
    let text = this.#playbookTexts.get(playbook);
    if (text === undefined) {
      text = JSON.stringify(playbook);
      this.#playbookTexts.set(playbook, text);
    }
    return text;
  }

  run(id: string): RunRow | undefined {
    const row = this.#sql(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as RawRun | undefined;
    return row && this.#toRun(row);
  }

  runs(filter: { status?: RunState } = {}): RunRow[] {
    const { where, bound } = equalities({ status: filter.status });
    const rows = this.#sql(`SELECT ${RUN_COLUMNS} FROM runs ${where} ORDER BY created_at`).all(bound);
    return (rows as RawRun[]).map((raw) => this.#toRun(raw));
  }

  // One query however many runs: SQLite takes the unit out of the plan and the state out of the
  // snapshot, and gathers each run's pending gates. Reading each run's plan made a listing of
  // 10,000 waiting runs take 6 s of the service's event loop.
  runSummaries(filter: { status?: RunState; limit?: number } = {}): { runs: RunSummary[]; total: number } {
    const { where, bound } = equalities({ status: filter.status });
    const rows = this.#sql(
      `SELECT id, status, host, alert_id, created_at, plan ->> '$.target.unit' AS unit, snapshot -> '$.value' AS state,
         (SELECT json_group_array(step) FROM (SELECT step FROM approvals WHERE run = runs.id AND state = 'pending' ORDER BY id)) AS pending
       FROM runs ${where} ORDER BY rowid DESC LIMIT @limit`,
    ).all({ ...bound, limit: filter.limit ?? -1 }) as RawSummary[];
    const { total } = this.#sql(`SELECT count(*) AS total FROM runs ${where}`).get(bound) as { total: number };
    const runs = rows.reverse().map((row) => ({
      run: row.id,
      status: row.status,
      host: row.host,
      unit: this.#json.decode(row.unit) as string,
      alert: row.alert_id,
      state: JSON.parse(row.state) as RunSummary['state'],
      created: row.created_at,
      pending: JSON.parse(row.pending) as string[],
    }));
    return { runs, total };
  }

  #toRun(row: RawRun): RunRow {
    return toRun(row, {
      plan: () => this.#json.parse((this.#sql('SELECT plan FROM runs WHERE id = ?').get(row.id) as { plan: string }).plan) as Plan,
      playbook: () => this.#playbookFrom(row.playbook),
    });
  }

  saveSnapshot(run: string, snapshot: MachineSnapshot, status: RunState): void {
    this.#sql('UPDATE runs SET snapshot = ?, status = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(snapshot), status, now(), run);
  }

  // Leases.

  takeLease(lease: LeaseRow, free: (holder: LeaseRow) => boolean): LeaseRow | undefined {
    return this.transaction(() => {
      const holder = this.leaseHolder(lease.run);
      if (holder && holder.owner !== lease.owner && !free(holder)) return holder;
      this.#sql(
        `INSERT INTO leases (run, owner, hostname, pid, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run) DO UPDATE SET owner = excluded.owner, hostname = excluded.hostname, pid = excluded.pid, expires_at = excluded.expires_at`,
      ).run(lease.run, lease.owner, lease.hostname, lease.pid, lease.expiresAt);
      return undefined;
    });
  }

  leaseHolder(run: string): LeaseRow | undefined {
    const row = this.#sql('SELECT * FROM leases WHERE run = ?').get(run) as RawLease | undefined;
    return row && { run: row.run, owner: row.owner, hostname: row.hostname, pid: row.pid, expiresAt: row.expires_at };
  }

  dropLease(run: string, owner: string): void {
    this.#sql('DELETE FROM leases WHERE run = ? AND owner = ?').run(run, owner);
  }

  // Alerts that joined a run.

  addJoinedAlert(alert: string, run: string): void {
    this.#sql('INSERT INTO joined_alerts (alert, run) VALUES (?, ?)').run(alert, run);
  }

  joinedRun(alert: string): string | undefined {
    return (this.#sql('SELECT run FROM joined_alerts WHERE alert = ?').get(alert) as { run: string } | undefined)?.run;
  }

  // Intents.

  addIntents(run: string, intents: readonly RunIntent[]): void {
    const insert = this.#sql(`INSERT INTO intents (run, type, params, state, created_at) VALUES (?, ?, ?, 'pending', ?)`);
    for (const intent of intents) insert.run(run, intent.type, JSON.stringify(intent.params), now());
  }

  openIntents(run: string): IntentRow[] {
    const rows = this.#sql(`SELECT * FROM intents WHERE run = ? AND state != 'done' ORDER BY id`).all(run) as RawIntent[];
    return rows.map(toIntent);
  }

  runsWithOpenIntents(): string[] {
    return (this.#sql(`SELECT DISTINCT run FROM intents WHERE state != 'done'`).all() as Array<{ run: string }>).map((row) => row.run);
  }

  markIntent(id: number, state: 'started' | 'done'): void {
    this.#sql(`UPDATE intents SET state = ?, ${state === 'started' ? 'started_at' : 'done_at'} = ? WHERE id = ?`).run(state, now(), id);
  }

  // Deadlines.

  addDeadline(run: string, step: string, event: DeadlineRow['event'], dueAt: Date): void {
    this.#sql('INSERT INTO deadlines (run, step, event, due_at) VALUES (?, ?, ?, ?)').run(run, step, event, dueAt.getTime());
  }

  dueDeadlines(at: Date, filter: { run?: string; limit?: number } = {}): DeadlineRow[] {
    const { where, bound } = equalities({ run: filter.run }, ['fired_at IS NULL', 'due_at <= @at']);
    const rows = this.#sql(`SELECT * FROM deadlines ${where} ORDER BY due_at LIMIT @limit`).all({ ...bound, at: at.getTime(), limit: filter.limit ?? -1 });
    return (rows as RawDeadline[]).map((row) => ({ id: row.id, run: row.run, step: row.step, event: row.event, dueAt: row.due_at }));
  }

  nextDeadline(run: string): number | undefined {
    const row = this.#sql('SELECT MIN(due_at) AS due FROM deadlines WHERE fired_at IS NULL AND run = ?').get(run) as { due: number | null };
    return row.due ?? undefined;
  }

  closeDeadlines(run: string, step: string, event: DeadlineRow['event']): number {
    return this.#sql('UPDATE deadlines SET fired_at = ? WHERE run = ? AND step = ? AND event = ? AND fired_at IS NULL').run(now(), run, step, event).changes;
  }

  // Approvals.

  openApproval(request: Omit<ApprovalRow, 'id' | 'state' | 'requestedAt'>): boolean {
    return (
      this.#sql(`INSERT OR IGNORE INTO approvals (run, step, step_hash, count, roles, requested_at, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')`).run(request.run, request.step, request.stepHash, request.count, JSON.stringify(request.roles), now(), request.expiresAt).changes === 1
    );
  }

  approval(run: string, step: string): ApprovalRow | undefined {
    const row = this.#sql('SELECT * FROM approvals WHERE run = ? AND step = ?').get(run, step) as RawApproval | undefined;
    return row && toApproval(row);
  }

  approvals(filter: { run?: string; state?: ApprovalState } = {}): ApprovalRow[] {
    const { where, bound } = equalities({ run: filter.run, state: filter.state });
    const rows = this.#sql(`SELECT * FROM approvals ${where} ORDER BY id`).all(bound) as RawApproval[];
    return rows.map(toApproval);
  }

  setApprovalState(id: number, state: ApprovalState): void {
    this.#sql('UPDATE approvals SET state = ? WHERE id = ?').run(state, id);
  }

  addVote(approval: number, vote: Omit<VoteRow, 'at'>): void {
    this.#sql('INSERT INTO votes (approval, analyst, decision, reason, step_hash, at) VALUES (?, ?, ?, ?, ?, ?)').run(approval, vote.analyst, vote.decision, vote.reason, vote.stepHash, now());
  }

  votes(approval: number): VoteRow[] {
    return (this.#sql('SELECT * FROM votes WHERE approval = ? ORDER BY at').all(approval) as Array<VoteRow & { step_hash: string }>).map((row) => ({
      analyst: row.analyst,
      decision: row.decision,
      reason: row.reason,
      stepHash: row.step_hash,
      at: row.at,
    }));
  }
}

/** A run's columns but its plan (7 KB): most reads want only its status or host; the plan is read when asked for. */
const RUN_COLUMNS = 'id, alert_id, playbook_id, host, status, plan_hash, playbook, snapshot, created_at, updated_at';

interface RawRun {
  id: string;
  alert_id: string;
  playbook_id: string;
  host: string;
  status: RunState;
  plan_hash: string;
  playbook: string;
  snapshot: string;
  created_at: string;
  updated_at: string;
}

interface RawLease {
  run: string;
  owner: string;
  hostname: string;
  pid: number;
  expires_at: number;
}

interface RawIntent {
  id: number;
  run: string;
  type: RunIntent['type'];
  params: string;
  state: IntentRow['state'];
}
interface RawDeadline {
  id: number;
  run: string;
  step: string;
  event: DeadlineRow['event'];
  due_at: number;
}
interface RawApproval {
  id: number;
  run: string;
  step: string;
  step_hash: string;
  count: number;
  roles: string;
  requested_at: string;
  expires_at: string;
  state: ApprovalState;
}

/**
 * `WHERE column = @column AND …` for the filters given (after the conditions every query of the
 * statement has), and their values. A statement for each combination, not one with
 * `@x IS NULL OR x = @x` for all: that form keeps SQLite from the index (a run's pending approvals
 * scanned every approval; a state's runs, every run). Columns and conditions are named by the
 * code, never by input.
 */
function equalities(filter: Record<string, string | undefined>, always: readonly string[] = []): { where: string; bound: Record<string, string> } {
  const bound: Record<string, string> = {};
  for (const [column, value] of Object.entries(filter)) if (value !== undefined) bound[column] = value;
  const conditions = [...always, ...Object.keys(bound).map((column) => `${column} = @${column}`)];
  return { where: conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`, bound };
}

interface RawSummary {
  id: string;
  status: RunState;
  host: string;
  alert_id: string;
  created_at: string;
  unit: string;
  state: string;
  pending: string;
}

/** A run's playbook as stored: its JSON text (in blobs), or, in runs stored before, the playbook itself. */
function fromStored(playbook: unknown): Playbook {
  return (typeof playbook === 'string' ? JSON.parse(playbook) : playbook) as Playbook;
}

/**
 * A run as read. Its plan is fetched from the store, and its plan and snapshot parsed, when first
 * read: most lookups want only its status or host (three for each alert admitted), and parsing a
 * plan took 75 µs. The store must still be open then. Its playbook is the store's one frozen
 * object for that playbook.
 */
function toRun(row: RawRun, read: { plan: () => Plan; playbook: () => Playbook }): RunRow {
  let plan: Plan | undefined;
  let snapshot: MachineSnapshot | undefined;
  return {
    id: row.id,
    alertId: row.alert_id,
    playbookId: row.playbook_id,
    host: row.host,
    status: row.status,
    get plan() {
      return (plan ??= read.plan());
    },
    planHash: row.plan_hash,
    get playbook() {
      return read.playbook();
    },
    get snapshot() {
      return (snapshot ??= JSON.parse(row.snapshot) as MachineSnapshot);
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toIntent(row: RawIntent): IntentRow {
  return { id: row.id, run: row.run, intent: { type: row.type, params: JSON.parse(row.params) } as RunIntent, state: row.state };
}

function toApproval(row: RawApproval): ApprovalRow {
  return {
    id: row.id,
    run: row.run,
    step: row.step,
    stepHash: row.step_hash,
    count: row.count,
    roles: JSON.parse(row.roles) as string[],
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
    state: row.state,
  };
}
