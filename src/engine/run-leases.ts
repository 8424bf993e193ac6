import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { SoarError } from '../errors.js';
import type { LeaseRow, Store } from '../store/store.js';

/** How long a lease lasts unless its holder renews it, and how often a holder renews. */
export const LEASE_MS = 30_000;
const RENEW_EVERY_MS = 10_000;

/** A lease taken from a holder that let it lapse, or whose process is gone. */
export interface Takeover {
  from: LeaseRow;
  why: 'expired' | 'process gone';
}

/** The lease of a host (in the leases table beside the runs' own): held while a run acts on it. */
const HOST = 'host:';
export const hostLease = (host: string): string => `${HOST}${host}`;

/** This process stalled past a lease and another took the run, or its host, over: it must write nothing more about the run. */
export class LeaseLostError extends SoarError {
  constructor(key: string, holder: LeaseRow | undefined) {
    const what = key.startsWith(HOST) ? `host ${key.slice(HOST.length)}` : `run ${key}`;
    super('RUN_TAKEN_OVER', `${what} was taken over${holder ? ` by pid ${holder.pid} on ${holder.hostname}` : ''} while this process held it past its lease; this process leaves it to that one`);
  }
}

/**
 * The runs one runtime drives and the hosts it acts on, each under a lease in the store: two soar
 * processes on one store (soar run twice on one alert, soar resume beside soar serve, soar run by
 * hand beside soar serve's run on the same host) never carry out one run, or act on one host, at
 * the same time. A lease held here is renewed until released. A lease is free when its holder
 * stopped renewing it, or at once when its process is gone from this machine (killed, crashed).
 */
export class RunLeases {
  readonly #store: Store;
  readonly #owner = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  /** The renewal timer of each lease held. */
  readonly #held = new Map<string, NodeJS.Timeout>();

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * Takes the run's lease (a no-op if held here). Returns the live holder instead if another
   * process has it; else, when the lease was taken from a lapsed holder, who that was and why.
   */
  take(run: string): { holder: LeaseRow } | { takeover?: Takeover } {
    if (this.#held.has(run)) return {};
    let takeover: Takeover | undefined;
    const holder = this.#store.takeLease(this.#lease(run), (lapsed) => {
      const why = lapsedBecause(lapsed);
      takeover = why && { from: lapsed, why };
      return why !== undefined;
    });
    if (holder) return { holder };
    const renewal = setInterval(() => this.#renew(run), RENEW_EVERY_MS);
    renewal.unref();
    this.#held.set(run, renewal);
    return { takeover };
  }

  holds(run: string): boolean {
    return this.#held.has(run);
  }

  /** The other process whose lease on this key is live, if one is. */
  liveHolder(key: string): LeaseRow | undefined {
    const holder = this.#store.leaseHolder(key);
    return holder && holder.owner !== this.#owner && lapsedBecause(holder) === undefined ? holder : undefined;
  }

  /**
   * Throws LeaseLostError unless the store still names this runtime the run's holder. Called
   * inside each transaction that acts on a run, so a process that stalled past its lease (a
   * suspended terminal, a paused machine) writes nothing once another has taken the run over.
   */
  confirm(run: string): void {
    const holder = this.#store.leaseHolder(run);
    if (holder?.owner === this.#owner) return;
    this.#stopRenewing(run);
    throw new LeaseLostError(run, holder);
  }

  /** Stops renewing a lease this runtime only thought it took (its transaction rolled back). */
  forget(run: string): void {
    this.#stopRenewing(run);
  }

  release(run: string): void {
    if (!this.#stopRenewing(run)) return;
    this.#store.dropLease(run, this.#owner);
  }

  /** Extends the lease only while the store still names this runtime its holder: one taken over is never taken back unseen. */
  #renew(run: string): void {
    try {
      const renewed = this.#store.transaction(() => {
        if (this.#store.leaseHolder(run)?.owner !== this.#owner) return false;
        this.#store.takeLease(this.#lease(run), () => false);
        return true;
      });
      // Taken over (this process stalled past the lease): it is no longer held here.
      if (!renewed) this.#stopRenewing(run);
    } catch {
      // A store busy past its timeout: the next renewal comes well before the lease ends.
    }
  }

  #stopRenewing(run: string): boolean {
    const renewal = this.#held.get(run);
    if (!renewal) return false;
    clearInterval(renewal);
    this.#held.delete(run);
    return true;
  }

  #lease(run: string): LeaseRow {
    return { run, owner: this.#owner, hostname: hostname(), pid: process.pid, expiresAt: Date.now() + LEASE_MS };
  }
}

/** Why a holder's lease is free to take (for anyone but that holder), if it is. */
export function lapsedBecause(holder: LeaseRow): Takeover['why'] | undefined {
  if (holder.expiresAt <= Date.now()) return 'expired';
  if (holder.hostname === hostname() && !processAlive(holder.pid)) return 'process gone';
  return undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
