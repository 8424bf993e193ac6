/**
 * Caps the exec channels open at once on one connection: sshd refuses sessions past its
 * MaxSessions ("Channel open failure"), so extra commands wait here for a free slot, in order.
 */
export class ChannelSlots {
  readonly #limit: number;
  #inUse = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`channel limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Runs `task` once a slot is free, and frees the slot when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#inUse < this.#limit) {
      this.#inUse += 1;
      return Promise.resolve();
    }
    // The slot passes straight from the releaser to the waiter, so inUse never dips and overshoots.
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#inUse -= 1;
  }
}
