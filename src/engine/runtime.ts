import type { ActionDefinition, PlanContext, StepResult } from '../actions/action.js';
import { StepFailedError, StepOutcomeUnknownError } from '../actions/failure.js';
import type { AuditEntry } from '../audit/record.js';
import type { Config } from '../config/config.js';
import { isSoarError, SoarError } from '../errors.js';
import { contextLogger, type Logger } from '../log.js';
import { buildCase } from '../escalation/case.js';
import { deliverCase } from '../escalation/deliver.js';
import { auditOutput, auditResult } from '../audit/capture.js';
import type { Plan, PlannedStep } from '../plan/plan.js';
import { compilePlaybook, type PlaybookMachine, type RunEvent, type RunIntent } from '../playbook/compile.js';
import type { Playbook } from '../playbook/load.js';
import type { DeadlineRow, IntentRow, LeaseRow, RunRow, RunState, Store } from '../store/store.js';
import type { Transport } from '../transport/transport.js';
import { faultPoint } from './fault.js';
import { advanceRun, beginRun } from './machine-steps.js';
import { stepResults } from './report.js';
import { performStep, settleStep, type StepIo } from './perform-step.js';
import { hostLease, LeaseLostError, RunLeases } from './run-leases.js';

const SOAR = 'soar';

export interface Hosts {
  transport(hostName: string): Transport;
  probe(hostName: string): Promise<void>;
  /** Lets go of a host's connection while nothing of it runs. */
  release?(hostName: string): Promise<void>;
}

export type ProgressEvent =
  | { kind: 'step'; run: string; step: PlannedStep; attempt: number }
  | { kind: 'result'; run: string; step: PlannedStep; result: StepResult }
  | { kind: 'failed'; run: string; step: PlannedStep; message: string; retryable: boolean }
  | { kind: 'settled'; run: string; step: PlannedStep; inPlace: boolean }
  | { kind: 'approval'; run: string; step: PlannedStep; count: number; roles: string[]; expiresAt: string }
  | { kind: 'decision'; run: string; step: PlannedStep; decision: string; by: string }
  | { kind: 'retry'; run: string; step: PlannedStep; attempt: number; delayMs: number }
  | { kind: 'finished'; run: string; status: RunState };

export interface RuntimeOptions {
  /** Operational log (ECS JSON, secrets redacted); the audit trail is the record, this is for operators. */
  logger?: Logger;
  store: Store;
  config: Config;
  actions: ReadonlyMap<string, ActionDefinition>;
  hosts: Hosts;
  progress?: (event: ProgressEvent) => void;
}

/**
 * A run is waiting when nothing can happen until a decision arrives or a deadline falls due; busy
 * when it has something to carry out but another process drives it (holds its lease).
 */
export type DriveResult = RunState | 'waiting' | 'busy';

export class RunNotFoundError extends SoarError {
  constructor(run: string) {
    super('RUN_NOT_FOUND', `no run ${run} in the store: list runs with soar status`);
  }
}

/**
 * The durable runtime. The machine decides (pure transitions); every transition commits the
 * snapshot, the intents it emitted and its audit records in one transaction before anything is
 * acted on; intents are then carried out and their results fed back as events. A runner that
 * dies at any point resumes from the store: a step found started but not finished is settled
 * with its action's verify before anything runs again.
 */
export class Runtime {
  readonly #options: RuntimeOptions;
  /** Compiled machines by playbook text: runs of one playbook share one, held once however many runs wait. */
  readonly #machines = new Map<string, PlaybookMachine>();
  /** The same, by playbook object (intake admits every alert with one; the store gives the runs of a stored playbook one): not written out each time. */
  readonly #machineOf = new WeakMap<Playbook, PlaybookMachine>();
  /** Fault points and progress of the requests carried out inside a transition, due once it commits. */
  readonly #committed: Array<() => void> = [];
  readonly #leases: RunLeases;
  /** The host lease of each run this process acts with now: one run at a time on each host. */
  readonly #acting = new Map<string, string>();

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#leases = new RunLeases(options.store);
  }

  get store(): Store {
    return this.#options.store;
  }

  /** Records a new run and its first transition; an alert that already has a run is not run twice. */
  start(plan: Plan, playbook: Playbook): { runId: string; created: boolean } {
    const machine = this.#machine(playbook);
    const first = beginRun(machine);
    const created = this.transaction(() => {
      const inserted = this.store.insertRun({
        id: plan.runId,
        alertId: plan.alert.id,
        playbookId: plan.playbook.id,
        host: plan.target.host.name,
        plan,
        planHash: plan.hash,
        playbook,
        snapshot: first.snapshot,
      });
      if (!inserted) return false;
      this.#audit(plan.runId, 'run.started', { plan: plan.hash, playbook: plan.playbook, alert: plan.alert, target: plan.target, host: plan.host, state: first.state });
      this.#addIntents(plan.runId, plan, first.intents);
      return true;
    });
    faultPoint('run.started');
    return { runId: plan.runId, created };
  }

  /** Closes the connection to a run's host while the run is not being driven (waiting or done). */
  async releaseHost(runId: string): Promise<void> {
    await this.#options.hosts.release?.(this.run(runId).host);
  }

  run(runId: string): RunRow {
    const run = this.store.run(runId);
    if (!run) throw new RunNotFoundError(runId);
    return run;
  }

  /**
   * Applies an event to a run inside the caller's transaction: the new snapshot, its intents and
   * the transition's audit record commit together.
   */
  applyEvent(runId: string, event: RunEvent): void {
    const run = this.run(runId);
    if (run.status !== 'active') return;
    const next = advanceRun(this.#machine(run.playbook), run.snapshot, event);
    const finished = next.intents.find((intent): intent is Extract<RunIntent, { type: 'runFinished' }> => intent.type === 'runFinished');
    this.store.saveSnapshot(runId, next.snapshot, finished ? finished.params.status : 'active');
    this.#audit(runId, 'transition', { event, to: next.state, intents: next.intents });
    this.#addIntents(runId, run.plan, next.intents);
  }

  /**
   * Stores a transition's intents. Asking for an approval or scheduling a retry only writes to the
   * store, so it is done here, in the transition's own transaction: a gated run costs one commit,
   * not two. The rest (steps, the end) are carried out by drive once this commits.
   */
  #addIntents(runId: string, plan: Plan, intents: readonly RunIntent[]): void {
    const acted: RunIntent[] = [];
    for (const intent of intents) {
      if (intent.type === 'requestApproval' || intent.type === 'scheduleRetry') this.#request(runId, plan, intent);
      else acted.push(intent);
    }
    this.store.addIntents(runId, acted);
  }

  /** Opens an approval request (with its expiry) or a retry deadline, audited, in the caller's transaction. */
  #request(runId: string, plan: Plan, intent: Extract<RunIntent, { type: 'requestApproval' | 'scheduleRetry' }>): void {
    const step = plan.steps.find((planned) => planned.id === intent.params.step)!;
    const progress = this.#options.progress;
    if (intent.type === 'requestApproval') {
      const { count, roles, expiresInMs } = intent.params;
      const expiresAt = new Date(Date.now() + expiresInMs).toISOString();
      this.#audit(runId, 'approval.requested', { step: step.id, stepHash: step.hash, count, roles, expiresAt, commands: step.commands });
      if (this.store.openApproval({ run: runId, step: step.id, stepHash: step.hash, count, roles, expiresAt })) {
        this.store.addDeadline(runId, step.id, 'APPROVAL.EXPIRED', new Date(expiresAt));
      }
      this.#committed.push(() => {
        faultPoint('approval.requested');
        progress?.({ kind: 'approval', run: runId, step, count, roles, expiresAt });
      });
      return;
    }
    const { attempt, delayMs } = intent.params;
    const dueAt = new Date(Date.now() + delayMs);
    this.#audit(runId, 'retry.scheduled', { step: step.id, attempt, delayMs, dueAt: dueAt.toISOString() });
    this.store.addDeadline(runId, step.id, 'RETRY.DUE', dueAt);
    this.#committed.push(() => {
      faultPoint('retry.scheduled');
      progress?.({ kind: 'retry', run: runId, step, attempt, delayMs });
    });
  }

  /** Fires the fault points and progress of the requests made in transactions that committed. */
  #announceCommitted(): void {
    for (const announce of this.#committed.splice(0)) announce();
  }

  /**
   * Makes this process the run's only driver until `letGo` (a runner waiting at its gates keeps
   * it); returns the live process that drives it instead, if another does.
   */
  claim(runId: string): LeaseRow | undefined {
    return this.#take(runId);
  }

  /**
   * Takes the run's lease, or (given its host) the lease of the host it acts on; taking either
   * over from a lapsed holder is audited, on the run, in the same transaction.
   */
  #take(runId: string, host?: string): LeaseRow | undefined {
    const key = host === undefined ? runId : hostLease(host);
    if (this.#leases.holds(key)) return undefined;
    try {
      return this.transaction(() => {
        const taken = this.#leases.take(key);
        if ('holder' in taken) return taken.holder;
        if (taken.takeover) {
          const { from, why } = taken.takeover;
          const record = { from: { hostname: from.hostname, pid: from.pid }, why, expiredAt: new Date(from.expiresAt).toISOString() };
          if (host === undefined) this.#audit(runId, 'run.taken_over', record);
          else this.#audit(runId, 'host.taken_over', { host, ...record });
        }
        return undefined;
      });
    } catch (error) {
      this.#leases.forget(key);
      throw error;
    }
  }

  letGo(runId: string): void {
    this.#leases.release(runId);
  }

  /**
   * Carries out a run's intents until it finishes or has to wait for a decision or a deadline.
   * Acting needs the run's lease and its host's: unless this process claimed the run, drive takes
   * the run's lease, and it takes the host's, giving back what it took when it returns. A run
   * another process drives, or whose host another run acts on (in any process), is left to it
   * ('busy'), as is one taken over from this process while it acted (it stalled past its lease).
   */
  async drive(runId: string): Promise<DriveResult> {
    let leased = false;
    let hostLeased: string | undefined;
    try {
      for (;;) {
        // After the step's own progress: the gate it led to is announced next.
        this.#announceCommitted();
        if (this.store.openIntents(runId).length === 0 && this.store.dueDeadlines(new Date(), { run: runId, limit: 1 }).length === 0) {
          const { status } = this.run(runId);
          return status === 'active' ? 'waiting' : status;
        }
        if (!this.#leases.holds(runId)) {
          if (this.#take(runId)) return 'busy';
          leased = true;
        }
        if (hostLeased === undefined) {
          const { host } = this.run(runId);
          const key = hostLease(host);
          if ([...this.#acting.values()].includes(key) || this.#take(runId, host)) return 'busy';
          this.#acting.set(runId, key);
          hostLeased = key;
        }
        this.fireDeadlines(new Date(), { run: runId });
        const [next] = this.store.openIntents(runId);
        if (next) await this.#carryOut(this.run(runId), next);
      }
    } catch (error) {
      if (leaseLost(error)) return 'busy';
      throw error;
    } finally {
      if (hostLeased) {
        this.#acting.delete(runId);
        this.#leases.release(hostLeased);
      }
      if (leased) this.#leases.release(runId);
    }
  }

  /** The other process that drives the run, or acts on its host, while this one may not. */
  busyWith(runId: string): LeaseRow | undefined {
    return this.#leases.liveHolder(runId) ?? this.#leases.liveHolder(hostLease(this.run(runId).host));
  }

  /**
   * Turns deadlines due by `at` (of one run, or of every run) into their events (approval expiry,
   * retry due), durably: the `limit` oldest in one commit, each in a savepoint of its own, so one
   * that throws is rolled back alone, stays due, and is thrown once the others have committed. A
   * storm's approvals expire together, and a commit each held the event loop for a millisecond
   * apiece: 12 s for 10,000. Returns how many were due and tried.
   */
  fireDeadlines(at: Date, options: { run?: string; limit?: number } = {}): number {
    const due = this.store.dueDeadlines(at, options);
    if (due.length === 0) return 0;
    const fired: DeadlineRow[] = [];
    const failures: unknown[] = [];
    this.transaction(() => {
      for (const deadline of due) {
        try {
          if (this.transaction(() => this.#fire(deadline))) fired.push(deadline);
        } catch (error) {
          failures.push(error);
        }
      }
    });
    for (const deadline of fired) faultPoint(deadline.event === 'APPROVAL.EXPIRED' ? 'approval.expired' : 'transition');
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} of ${due.length} due deadlines could not fire; the others did`);
    if (failures.length === 1) throw failures[0];
    return due.length;
  }

  /** One deadline's event, unless a decision or an earlier firing closed it; false then. */
  #fire(deadline: DeadlineRow): boolean {
    if (this.store.closeDeadlines(deadline.run, deadline.step, deadline.event) === 0) return false;
    if (deadline.event === 'APPROVAL.EXPIRED') {
      const approval = this.store.approval(deadline.run, deadline.step);
      if (approval?.state !== 'pending') return false;
      this.store.setApprovalState(approval.id, 'expired');
      this.#audit(deadline.run, 'approval.expired', { step: deadline.step, stepHash: approval.stepHash, expiresAt: approval.expiresAt });
    }
    this.applyEvent(deadline.run, { type: deadline.event, step: deadline.step });
    return true;
  }

  /**
   * Runs `work` in a store transaction. Requests made inside it (approvals, retries) are announced
   * (progress, fault points) by drive once it has committed; if it rolls back, they are forgotten.
   */
  transaction<T>(work: () => T): T {
    const made = this.#committed.length;
    try {
      return this.store.transaction(work);
    } catch (error) {
      this.#committed.length = made;
      throw error;
    }
  }

  /** Audits (in the caller's transaction) on behalf of a run. */
  audit(runId: string, kind: string, data: unknown, actor = SOAR): void {
    this.#audit(runId, kind, data, actor);
  }

  #audit(run: string, kind: string, data: unknown, actor = SOAR): void {
    const entry: AuditEntry = { run, kind, actor, data };
    this.store.appendAudit(entry);
  }

  /**
   * A write of a run being carried out, outside any other transaction: committed (and
   * fault-pointed) before returning, and only while this process still holds the run's lease and
   * its host's.
   */
  #commit(run: string, kind: string, data: unknown, extra?: () => void): void {
    this.transaction(() => {
      this.#confirmLeases(run);
      this.#audit(run, kind, data);
      extra?.();
    });
    faultPoint(kind);
  }

  /** Throws LeaseLostError unless the store still names this process the holder of the run and of the host it acts on. */
  #confirmLeases(run: string): void {
    this.#leases.confirm(run);
    const host = this.#acting.get(run);
    if (host) this.#leases.confirm(host);
  }

  #machine(playbook: Playbook): PlaybookMachine {
    let machine = this.#machineOf.get(playbook);
    if (machine) return machine;
    // Each run keeps the playbook it started with: a changed playbook file is another machine.
    const text = JSON.stringify(playbook);
    machine = this.#machines.get(text) ?? compilePlaybook(playbook);
    this.#machines.set(text, machine);
    this.#machineOf.set(playbook, machine);
    return machine;
  }

  async #carryOut(run: RunRow, row: IntentRow): Promise<void> {
    const { intent } = row;
    const progress = this.#options.progress;
    if (intent.type === 'runFinished') {
      this.#commit(run.id, 'run.finished', { status: intent.params.status, outcomes: run.snapshot.context.outcomes, escalation: run.snapshot.context.escalation }, () =>
        this.store.markIntent(row.id, 'done'),
      );
      progress?.({ kind: 'finished', run: run.id, status: intent.params.status });
      return;
    }
    const step = run.plan.steps.find((planned) => planned.id === intent.params.step)!;
    switch (intent.type) {
      // Stores written before requests were made inside their transition may still hold these.
      case 'requestApproval':
      case 'scheduleRetry':
        this.transaction(() => {
          this.#confirmLeases(run.id);
          this.#request(run.id, run.plan, intent);
          this.store.markIntent(row.id, 'done');
        });
        return;
      case 'runStep':
      case 'settleStep':
        await this.#stepIntent(run, row, step, intent);
        return;
    }
  }

  async #stepIntent(run: RunRow, row: IntentRow, step: PlannedStep, intent: Extract<RunIntent, { type: 'runStep' | 'settleStep' }>): Promise<void> {
    const action = this.#options.actions.get(step.action)!;
    const context = this.#context(run, step);
    const io = this.#io(run, step);
    const progress = this.#options.progress;
    const finish = (event: RunEvent, kind: string, data: unknown) => {
      this.#commit(run.id, kind, data, () => {
        this.store.markIntent(row.id, 'done');
        this.applyEvent(run.id, event);
      });
    };

    // Started before a crash, or its link died: is the effect already in place? Never guess.
    if (row.state === 'started' || intent.type === 'settleStep') {
      let settled: StepResult | undefined;
      try {
        settled = await settleStep(step, action, context, io);
      } catch (error) {
        if (leaseLost(error)) throw error;
        finish(this.#failureEvent(run, step, error), 'step.failed', this.#failureData(step, error));
        return;
      }
      progress?.({ kind: 'settled', run: run.id, step, inPlace: settled !== undefined });
      if (settled) {
        finish({ type: 'STEP.OK', step: step.id, outcome: settled.outcome }, 'step.settled', { step: step.id, inPlace: true, ...settled });
        return;
      }
      if (intent.type === 'settleStep') {
        finish({ type: 'STEP.FAILED', step: step.id, error: { code: 'NOT_IN_PLACE', message: 'the link died and verify found the effect not in place' }, retryable: true }, 'step.settled', { step: step.id, inPlace: false });
        return;
      }
      this.#commit(run.id, 'step.settled', { step: step.id, inPlace: false, next: 'run again' });
    }

    const attempt = run.snapshot.context.attempts[step.id] ?? 1;
    const log = this.#options.logger && contextLogger(this.#options.logger, { run: run.id, step: step.id, host: run.host });
    this.#commit(run.id, 'step.started', { step: step.id, action: step.action, attempt, stepHash: step.hash }, () => this.store.markIntent(row.id, 'started'));
    log?.info({ event: { action: 'step-started' }, attempt }, `${step.action} started`);
    progress?.({ kind: 'step', run: run.id, step, attempt });
    let result: StepResult;
    try {
      result = await performStep(step, action, context, io);
    } catch (error) {
      if (leaseLost(error)) throw error;
      const event = this.#failureEvent(run, step, error);
      log?.warn({ event: { action: 'step-failed' }, err: error }, `${step.action} failed`);
      finish(event, event.type === 'STEP.UNKNOWN' ? 'step.unknown' : 'step.failed', this.#failureData(step, error));
      return;
    }
    finish({ type: 'STEP.OK', step: step.id, outcome: result.outcome }, 'step.result', { step: step.id, ...result });
    log?.info({ event: { action: 'step-finished' }, 'soar.outcome': result.outcome }, result.summary);
    progress?.({ kind: 'result', run: run.id, step, result });
  }

  #failureEvent(run: RunRow, step: PlannedStep, error: unknown): RunEvent {
    if (error instanceof StepOutcomeUnknownError) return { type: 'STEP.UNKNOWN', step: step.id };
    const retryable = isSoarError(error) ? error.retryable : false;
    const message = error instanceof Error ? error.message : String(error);
    this.#options.progress?.({ kind: 'failed', run: run.id, step, message, retryable });
    return { type: 'STEP.FAILED', step: step.id, error: { code: isSoarError(error) ? error.code : 'INTERNAL', message }, retryable };
  }

  #failureData(step: PlannedStep, error: unknown) {
    return {
      step: step.id,
      code: isSoarError(error) ? error.code : 'INTERNAL',
      message: error instanceof Error ? error.message : String(error),
      retryable: isSoarError(error) ? error.retryable : false,
      evidence: error instanceof StepFailedError ? error.evidence : undefined,
    };
  }

  #context(run: RunRow, step: PlannedStep): PlanContext {
    return { target: run.plan.target, config: this.#options.config, runId: run.id, timeoutMs: step.timeoutMs, alertTime: run.plan.alert.timestamp };
  }

  #io(run: RunRow, step: PlannedStep): StepIo {
    const hostName = run.plan.target.host.name;
    return {
      host: this.#options.hosts.transport(hostName),
      probe: () => this.#options.hosts.probe(hostName),
      deliver: async (planned) => {
        const records = this.store.auditRecords(run.id);
        const current = this.run(run.id);
        const soc = buildCase(current.plan, current.snapshot.context, stepResults(records), (step.params as { severity?: string }).severity ?? 'high');
        // One case per attempt, however many requests deliver it.
        if (planned === step.commands.find((command) => command.where !== 'host')) this.#commit(run.id, 'case.built', soc);
        return deliverCase(planned, { config: this.#options.config, step, soc, records, commit: (kind, data) => this.#commit(run.id, kind, data) });
      },
      observe: (event) => {
        if (event.phase === 'sending') {
          this.#commit(run.id, 'command.sent', { step: step.id, purpose: event.purpose, argv: event.command.argv, stdin: event.command.stdin === undefined ? undefined : auditOutput(event.command.stdin) });
        } else {
          this.#commit(run.id, 'command.returned', { step: step.id, purpose: event.purpose, result: auditResult(event.result) });
        }
      },
    };
  }
}

/** The run was taken over while this process acted: nothing more is written (the escalation's delivery wraps the error). */
function leaseLost(error: unknown): boolean {
  return error instanceof LeaseLostError || (error instanceof Error && error.cause instanceof LeaseLostError);
}
