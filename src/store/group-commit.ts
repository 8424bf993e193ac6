import type { Store } from './store.js';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * Group commit: pieces of work submitted in the same turn of the event loop commit in one store
 * transaction (one fsync for all of them), each in its own savepoint, so one that throws is
 * rolled back alone. Each promise settles only once the transaction holding its work has committed.
 */
export class GroupCommit {
  #pending: Pending[] = [];

  constructor(private readonly store: Pick<Store, 'transaction'>) {}

  submit<R>(work: () => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#pending.length === 0) setImmediate(() => this.#flush());
      this.#pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.store.transaction(() => {
        for (const { work } of batch) {
          try {
            outcomes.push({ ok: true, value: this.store.transaction(work) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const { reject } of batch) reject(error);
      return;
    }
    batch.forEach(({ resolve, reject }, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) resolve(outcome.value);
      else reject(outcome.error);
    });
  }
}
