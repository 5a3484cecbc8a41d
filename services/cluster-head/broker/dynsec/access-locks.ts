/**
 * Serialises broker changes that concern the same devices, each together with the head's own
 * write, so two of them can never interleave (e.g. a session ending removes an ACL while a new
 * grant of the same pair adds it). Reconciliation runs alone: it waits for what is running and
 * holds back what starts after it.
 */
export class AccessLocks {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #running = new Set<Promise<void>>();
  #exclusive: Promise<void> = Promise.resolve();

  /** Runs `fn` once no earlier holder of any of `keys`, nor an exclusive run, is active. */
  async run<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // Everything is read and set synchronously: the queue order is the call order, so no deadlock.
    const before = [this.#exclusive, ...unique.map((k) => this.#tails.get(k) ?? Promise.resolve())];
    for (const key of unique) this.#tails.set(key, done);
    this.#running.add(done);
    try {
      await Promise.all(before);
      return await fn();
    } finally {
      release();
      this.#running.delete(done);
      for (const key of unique) if (this.#tails.get(key) === done) this.#tails.delete(key);
    }
  }

  /** Runs `fn` alone: after every run started before, before any started after. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const before = [this.#exclusive, ...this.#running];
    this.#exclusive = done;
    try {
      await Promise.all(before);
      return await fn();
    } finally {
      release();
    }
  }
}
