import type { AuditEntry, AuditRecord } from '../audit/record.js';
import type { MachineSnapshot } from '../engine/machine-steps.js';
import type { Plan } from '../plan/plan.js';
import type { RunIntent, RunStatus } from '../playbook/compile.js';
import type { Playbook } from '../playbook/load.js';

export type RunState = 'active' | RunStatus;
/** Every state a run can be in, for filters given from outside (soar status --status, GET /api/runs?status=). */
export const RUN_STATES = ['active', 'done', 'aborted', 'failed'] as const satisfies readonly RunState[];

export interface RunRow {
  id: string;
  alertId: string;
  playbookId: string;
  host: string;
  status: RunState;
  plan: Plan;
  planHash: string;
  /** The playbook as loaded when the run started: a resumed run follows the same machine. */
  playbook: Playbook;
  snapshot: MachineSnapshot;
  createdAt: string;
  updatedAt: string;
}

/** A run as a listing shows it (soar status, GET /api/runs, the console): read in one query, its plan never parsed. */
export interface RunSummary {
  run: string;
  status: RunState;
  host: string;
  unit: string;
  alert: string;
  state: MachineSnapshot['value'];
  created: string;
  /** The steps waiting at their approval gate. */
  pending: string[];
}

export interface IntentRow {
  id: number;
  run: string;
  intent: RunIntent;
  state: 'pending' | 'started' | 'done';
}

export interface DeadlineRow {
  id: number;
  run: string;
  step: string;
  event: 'APPROVAL.EXPIRED' | 'RETRY.DUE';
  dueAt: number;
}

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired';

export interface ApprovalRow {
  id: number;
  run: string;
  step: string;
  stepHash: string;
  count: number;
  roles: string[];
  requestedAt: string;
  expiresAt: string;
  state: ApprovalState;
}

export interface VoteRow {
  analyst: string;
  decision: 'approve' | 'deny';
  reason: string;
  stepHash: string;
  at: string;
}

/**
 * Which process drives a run, or acts on a host: at most one at a time. `owner` names one runtime
 * in one process; the lease ends at `expiresAt` (ms since the epoch) unless its holder renews it.
 */
export interface LeaseRow {
  /** The run's id, or host:NAME for a host's lease. */
  run: string;
  owner: string;
  hostname: string;
  pid: number;
  expiresAt: number;
}

/**
 * soar's durable state: runs and their machine snapshots, the intents each transition committed,
 * deadlines as absolute times, approvals and votes, and the audit chain. Writes made inside one
 * `transaction` commit together (a snapshot, its intents and its audit records), before anything
 * is sent to a host. SQLite (sqlite-store.ts) is the embedded implementation.
 */
export interface Store {
  /** Where the store lives (the audit head is anchored beside it). */
  readonly file: string;
  /** Runs `work` in a transaction; inside another, in a savepoint that commits with the outer one. */
  transaction<T>(work: () => T): T;
  close(): void;

  /** Appends a hash-chained audit record; call inside `transaction`. */
  appendAudit(entry: AuditEntry): AuditRecord;
  /** Every audit record, or one run's, in sequence order. */
  auditRecords(run?: string): AuditRecord[];

  /** Inserts a run unless one exists for the same alert and playbook (de-duplication). */
  insertRun(run: Omit<RunRow, 'createdAt' | 'updatedAt' | 'status'>): boolean;
  run(id: string): RunRow | undefined;
  runs(filter?: { status?: RunState }): RunRow[];
  /** The newest `limit` runs (all, without one) of that status, in the order they were stored; and how many it has. */
  runSummaries(filter?: { status?: RunState; limit?: number }): { runs: RunSummary[]; total: number };
  saveSnapshot(run: string, snapshot: MachineSnapshot, status: RunState): void;

  /**
   * Takes (or renews) a run's lease for `lease.owner`, in a transaction of its own unless inside
   * one; returns the other holder instead when one has it and `free` does not let it go.
   */
  takeLease(lease: LeaseRow, free: (holder: LeaseRow) => boolean): LeaseRow | undefined;
  /** Who holds the run's lease, as the store says now (expired or not). */
  leaseHolder(run: string): LeaseRow | undefined;
  /** Ends the lease, if `owner` still holds it. */
  dropLease(run: string, owner: string): void;

  /** Records that an alert joined a run (with its alert.joined audit record, in one transaction). */
  addJoinedAlert(alert: string, run: string): void;
  /** The run an alert joined, if it joined one. */
  joinedRun(alert: string): string | undefined;

  addIntents(run: string, intents: readonly RunIntent[]): void;
  /** Intents not yet done, oldest first: what a runner must carry out (or settle, if started). */
  openIntents(run: string): IntentRow[];
  /** The runs with intents not yet done: what a scheduler's tick looks for, in one query however many runs wait. */
  runsWithOpenIntents(): string[];
  markIntent(id: number, state: 'started' | 'done'): void;

  addDeadline(run: string, step: string, event: DeadlineRow['event'], dueAt: Date): void;
  /** Open deadlines due by `at` (of one run, if given), soonest first, at most `limit`. */
  dueDeadlines(at: Date, filter?: { run?: string; limit?: number }): DeadlineRow[];
  /** The next time anything of this run falls due, if anything is pending. */
  nextDeadline(run: string): number | undefined;
  /** Marks deadlines as fired (or no longer needed); returns how many were still open. */
  closeDeadlines(run: string, step: string, event: DeadlineRow['event']): number;

  /** Opens the approval request of a gate; a second request for the same gate is a no-op. */
  openApproval(request: Omit<ApprovalRow, 'id' | 'state' | 'requestedAt'>): boolean;
  approval(run: string, step: string): ApprovalRow | undefined;
  approvals(filter?: { run?: string; state?: ApprovalState }): ApprovalRow[];
  setApprovalState(id: number, state: ApprovalState): void;
  addVote(approval: number, vote: Omit<VoteRow, 'at'>): void;
  votes(approval: number): VoteRow[];
}
