import type { Runtime } from '../engine/runtime.js';
import type { Logger } from '../log.js';
import type { Plan } from '../plan/plan.js';
import type { Playbook } from '../playbook/load.js';

/**
 * Deadlines fired in one turn of the event loop, in one commit. A storm's approvals expire
 * together: 10,000 in one turn held the loop for seconds, and every alert and decision with it.
 */
export const DEADLINES_A_TURN = 100;

export interface SchedulerOptions {
  runtime: Runtime;
  /** Runs driven at once: a slow or dead host holds one slot, never the others. */
  maxConcurrentRuns: number;
  /** Runs waiting for a slot; `full` beyond it, so intake can answer 429. */
  queueLimit: number;
  /** How often due deadlines fire and runs with new intents are picked up. */
  tickMs?: number;
  /** How long a run whose drive threw is left alone before it is tried again. */
  stallMs?: number;
  logger?: Logger;
}

/** What became of one alert: a run of its own (new, or the one it already had) or a place in its host's incident. */
export interface Admission {
  run: string;
  created: boolean;
  /** The alert joined the host's running incident (recorded there as alert.joined). */
  joined: boolean;
}

/**
 * Runs many incidents at once, one per host and unit: an alert about a unit that one of its
 * host's active runs already responds to joins that run (an alert.joined audit record). An alert
 * about another unit (a second miner) gets a run of its own, held until the host's earlier runs
 * end, so two playbooks never act on one host at once. Runs are driven in their own tasks, at
 * most maxConcurrentRuns together, the rest wait in a bounded queue; a run waiting for a decision
 * or a deadline holds no slot. Everything it knows is rebuilt from the store when it starts.
 */
export class Scheduler {
  readonly #options: SchedulerOptions;
  /** Runs waiting for a slot, in order (a set: a storm queues thousands, and each is looked up before it is added). */
  readonly #queue = new Set<string>();
  readonly #driving = new Map<string, Promise<void>>();
  /** Runs that got new intents while being driven: driven again once the current drive ends. */
  readonly #again = new Set<string>();
  /** The active run of each host. */
  readonly #hostRun = new Map<string, string>();
  /** Further active runs of a host (started elsewhere, e.g. soar run), each taken up after the one before ends. */
  readonly #held = new Map<string, string[]>();
  readonly #stalled = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  /** A batch of due deadlines is to fire in the next turn. */
  #firing = false;
  #stopping = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
  }

  /** Takes up every active run in the store and starts the deadline timer. */
  start(): void {
    this.#load();
    this.#timer = setInterval(() => this.tick(), this.#options.tickMs ?? 1000);
    this.#timer.unref();
    this.tick();
  }

  /**
   * After admissions whose transaction did not commit: forgets the runs they left in memory, by
   * reading hosts' runs from the store again, so that no host waits behind a run that does not exist.
   */
  resync(): void {
    const { store } = this.#options.runtime;
    const stored = (runId: string) => store.run(runId) !== undefined;
    for (const [host, runId] of this.#hostRun) if (!stored(runId)) this.#hostRun.delete(host);
    for (const [host, runs] of this.#held) {
      const kept = runs.filter(stored);
      if (kept.length > 0) this.#held.set(host, kept);
      else this.#held.delete(host);
    }
    for (const runId of this.#queue) if (!stored(runId)) this.#queue.delete(runId);
    this.#load();
  }

  /** What the store says: each host's active runs. */
  #load(): void {
    for (const run of this.#options.runtime.store.runs({ status: 'active' })) this.#adopt(run.id, run.host);
  }

  get full(): boolean {
    return this.#queue.size >= this.#options.queueLimit;
  }

  stats(): { driving: number; queued: number; active: number } {
    return { driving: this.#driving.size, queued: this.#queue.size, active: this.#hostRun.size + [...this.#held.values()].reduce((sum, runs) => sum + runs.length, 0) };
  }

  /**
   * Admits an alert's plan, synchronously, so that no other alert can interleave: it is in the
   * store (as a run, or as alert.joined in its host's run) when this returns.
   */
  admit(plan: Plan, playbook: Playbook): Admission {
    const { runtime } = this.#options;
    const host = plan.target.host.name;
    // An alert that joined a run is a duplicate, even after a restart.
    const joinedTo = runtime.store.joinedRun(plan.alert.id);
    if (joinedTo !== undefined) return { run: joinedTo, created: false, joined: true };
    // An alert that has its own run (under way or over) is a duplicate, whatever its host is doing now.
    if (runtime.store.run(plan.runId)) return { run: plan.runId, created: false, joined: false };
    const incident = this.#incidentOf(host, plan.target.unit);
    if (incident !== undefined) {
      runtime.store.transaction(() => {
        runtime.audit(incident, 'alert.joined', { alert: plan.alert.id, rule: plan.alert.rule, timestamp: plan.alert.timestamp, unit: plan.target.unit, plan: plan.hash });
        runtime.store.addJoinedAlert(plan.alert.id, incident);
      });
      return { run: incident, created: false, joined: true };
    }
    // The host's last run in line (its active run, or the last one held behind it).
    const behind = this.#held.get(host)?.at(-1) ?? this.#hostRun.get(host);
    const { runId, created } = runtime.start(plan, playbook);
    // Held behind that run: the trail says why it waits for its turn.
    if (created && behind !== undefined) runtime.store.transaction(() => runtime.audit(runId, 'run.held', { behind, host }));
    this.#adopt(runId, host);
    return { run: runId, created, joined: false };
  }

  /** The host's active run (driven or held) that responds to this unit, if any. */
  #incidentOf(host: string, unit: string): string | undefined {
    const active = this.#hostRun.get(host);
    if (active === undefined) return undefined;
    const { store } = this.#options.runtime;
    return [active, ...(this.#held.get(host) ?? [])].find((runId) => store.run(runId)?.plan.target.unit === unit);
  }

  /** A decision arrived for the run: drive it (now, or after the drive under way) if it is its host's incident. */
  wake(runId: string): void {
    // A run held behind its host's incident is driven when its turn comes, not before.
    const host = this.#options.runtime.store.run(runId)?.host;
    if (host !== undefined && this.#hostRun.get(host) === runId) this.#driveSoon(runId);
  }

  #driveSoon(runId: string): void {
    if (this.#driving.has(runId)) this.#again.add(runId);
    else this.#enqueue(runId);
  }

  /** Fires due deadlines and picks up runs with intents to carry out. */
  tick(): void {
    if (this.#stopping) return;
    this.#fireDue();
    // Only hosts' incidents: a run held behind another waits its turn. From what this scheduler
    // holds, not by reading each run: after a storm's gates expire, 10,000 runs have intents.
    const open = new Set(this.#options.runtime.store.runsWithOpenIntents());
    for (const runId of this.#hostRun.values()) if (open.has(runId)) this.#driveSoon(runId);
  }

  /**
   * Fires the due deadlines, DEADLINES_A_TURN in each turn of the event loop, until none is due:
   * alerts and decisions are served between the batches. One that fails is tried again at the
   * next tick (the others of its batch fired).
   */
  #fireDue(): void {
    if (this.#firing || this.#stopping) return;
    let fired: number;
    try {
      fired = this.#options.runtime.fireDeadlines(new Date(), { limit: DEADLINES_A_TURN });
    } catch (error) {
      this.#options.logger?.error({ err: error }, 'firing deadlines failed; trying again on the next tick');
      return;
    }
    if (fired < DEADLINES_A_TURN) return;
    this.#firing = true;
    setImmediate(() => {
      this.#firing = false;
      this.#fireDue();
    });
  }

  /** Stops taking up work and waits (up to graceMs) for drives under way to reach a committed point. */
  async stop(graceMs: number): Promise<boolean> {
    this.#stopping = true;
    clearInterval(this.#timer);
    this.#queue.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const settled = Promise.all(this.#driving.values()).then(() => true);
    try {
      return await Promise.race([settled, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #adopt(runId: string, host: string): void {
    const current = this.#hostRun.get(host);
    if (current === undefined) {
      this.#hostRun.set(host, runId);
      const held = (this.#held.get(host) ?? []).filter((other) => other !== runId);
      if (held.length > 0) this.#held.set(host, held);
      else this.#held.delete(host);
      this.#enqueue(runId);
    } else if (current !== runId) {
      const held = this.#held.get(host) ?? [];
      if (!held.includes(runId)) this.#held.set(host, [...held, runId]);
    }
  }

  #enqueue(runId: string): void {
    if (this.#stopping || this.#queue.has(runId) || this.#driving.has(runId)) return;
    if ((this.#stalled.get(runId) ?? 0) > Date.now()) return;
    this.#queue.add(runId);
    // Not now: admit may run inside a group commit, and no drive may act before that commits.
    queueMicrotask(() => this.#pump());
  }

  #pump(): void {
    while (!this.#stopping && this.#driving.size < this.#options.maxConcurrentRuns) {
      const [runId] = this.#queue;
      if (runId === undefined) return;
      this.#queue.delete(runId);
      this.#driving.set(runId, this.#drive(runId));
    }
  }

  async #drive(runId: string): Promise<void> {
    const { runtime, logger } = this.#options;
    try {
      const state = await runtime.drive(runId);
      // busy: another soar process drives the run, or acts on its host, now; the tick tries again (each second: debug, not info).
      if (state === 'busy') logger?.debug({ soar: { run: runId } }, `${runId} is driven by another soar process, or its host acted on by one; left to it for now`);
      else if (state !== 'waiting') this.#finished(runId);
    } catch (error) {
      // A drive that throws left its last commit in place; it is settled when tried again.
      this.#stalled.set(runId, Date.now() + (this.#options.stallMs ?? 30_000));
      logger?.error({ err: error, soar: { run: runId } }, `driving ${runId} failed; it is tried again later`);
    } finally {
      // Only driven runs hold a connection: open SSH connections never exceed maxConcurrentRuns.
      await runtime.releaseHost(runId).catch((error: unknown) => logger?.warn({ err: error, soar: { run: runId } }, 'closing the host connection failed'));
      this.#driving.delete(runId);
      if (this.#again.delete(runId)) this.#enqueue(runId);
      this.#pump();
    }
  }

  #finished(runId: string): void {
    const host = this.#options.runtime.run(runId).host;
    if (this.#hostRun.get(host) !== runId) return;
    this.#hostRun.delete(host);
    const [next, ...rest] = this.#held.get(host) ?? [];
    if (rest.length > 0) this.#held.set(host, rest);
    else this.#held.delete(host);
    if (next !== undefined) {
      this.#hostRun.set(host, next);
      this.#enqueue(next);
    }
  }
}
