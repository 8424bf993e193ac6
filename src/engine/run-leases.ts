import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaseRow, Store } from '../store/store.js';

/** How long a lease lasts unless its holder renews it, and how often a holder renews. */
export const LEASE_MS = 30_000;
const RENEW_EVERY_MS = 10_000;

/**
 * The runs one runtime drives, each under a lease in the store: two soar processes on one store
 * (soar run twice on one alert, soar resume beside soar serve) never carry out a run at the same
 * time. A lease held here is renewed until released. A lease is free when its holder stopped
 * renewing it, or at once when its process is gone from this machine (killed, crashed).
 */
export class RunLeases {
  readonly #store: Store;
  readonly #owner = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  /** The renewal timer of each lease held. */
  readonly #held = new Map<string, NodeJS.Timeout>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Takes the run's lease (a no-op if held here); returns the live holder instead, if another has it. */
  take(run: string): LeaseRow | undefined {
    if (this.#held.has(run)) return undefined;
    const holder = this.#store.takeLease(this.#lease(run), isFree);
    if (holder) return holder;
    const renewal = setInterval(() => this.#renew(run), RENEW_EVERY_MS);
    renewal.unref();
    this.#held.set(run, renewal);
    return undefined;
  }

  holds(run: string): boolean {
    return this.#held.has(run);
  }

  release(run: string): void {
    if (!this.#stopRenewing(run)) return;
    this.#store.dropLease(run, this.#owner);
  }

  #renew(run: string): void {
    try {
      // Taken over (this process stalled past the lease): it is no longer held here.
      if (this.#store.takeLease(this.#lease(run), isFree)) this.#stopRenewing(run);
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

function isFree(holder: LeaseRow): boolean {
  return holder.expiresAt <= Date.now() || (holder.hostname === hostname() && !processAlive(holder.pid));
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
