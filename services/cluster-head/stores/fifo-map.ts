/**
 * A map that also knows its entries' insertion order and finds the oldest in amortised O(1),
 * whatever was deleted before them.
 *
 * Why not a plain Map: V8's Map and Set keep a deleted entry's slot until the table is rebuilt,
 * and iteration steps over every such slot. The session store deletes its oldest entries (evicted
 * ended sessions) and then asks for the oldest again, once per grant, so
 * "the first entry of the Map" cost a walk over thousands of holes (tens of µs per grant under
 * load). Here the order is a queue of (key, stamp) pairs beside the map; an entry deleted or
 * re-set leaves a stale pair that is dropped when the queue's front reaches it, and the queue is
 * rebuilt when stale pairs outnumber live ones, so memory stays proportional to the live entries.
 * @module
 */

/** Rebuild the queue once stale pairs exceed live entries by this much (and half the queue). */
const COMPACT_SLACK = 1_024;

export class FifoMap<K, V> {
  readonly #entries = new Map<K, { value: V; stamp: number }>();
  #keys: K[] = [];
  #stamps: number[] = [];
  /** Index of the queue's front in {@link #keys}. */
  #front = 0;
  #nextStamp = 0;

  get size(): number {
    return this.#entries.size;
  }

  /** Pairs in the order's arrays, stale ones included (for tests of the memory bound). */
  get queued(): number {
    return this.#keys.length;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Sets `key` to `value` and makes it the newest entry (also when it was already there). */
  set(key: K, value: V): this {
    const stamp = this.#nextStamp++;
    this.#entries.set(key, { value, stamp });
    this.#keys.push(key);
    this.#stamps.push(stamp);
    this.#compactIfSparse();
    return this;
  }

  delete(key: K): boolean {
    const deleted = this.#entries.delete(key);
    if (deleted) this.#compactIfSparse();
    return deleted;
  }

  /**
   * Entries from the oldest to the newest. An entry deleted before it is reached is skipped (so the
   * caller may delete what it was just given); one set meanwhile may or may not be reached.
   */
  *oldestFirst(): Generator<[K, V]> {
    this.#dropStaleFront();
    // A compaction meanwhile swaps in new arrays and leaves these as they were.
    const keys = this.#keys;
    const stamps = this.#stamps;
    for (let i = this.#front; i < keys.length; i++) {
      const key = keys[i]!;
      const entry = this.#entries.get(key);
      if (entry !== undefined && entry.stamp === stamps[i]) yield [key, entry.value];
    }
  }

  /** The oldest `count` keys (fewer when the map is smaller; none when `count` ≤ 0). */
  oldest(count: number): K[] {
    const out: K[] = [];
    if (count <= 0) return out;
    // The same walk as oldestFirst without a generator: this runs in every grant.
    this.#dropStaleFront();
    const keys = this.#keys;
    for (let i = this.#front; i < keys.length && out.length < count; i++) {
      const key = keys[i]!;
      if (this.#entries.get(key)?.stamp === this.#stamps[i]) out.push(key);
    }
    return out;
  }

  /** Every entry, oldest first (a copy). */
  entries(): [K, V][] {
    return [...this.oldestFirst()];
  }

  /** Moves the front past pairs whose entry was deleted or set again since. */
  #dropStaleFront(): void {
    while (this.#front < this.#keys.length) {
      const entry = this.#entries.get(this.#keys[this.#front]!);
      if (entry !== undefined && entry.stamp === this.#stamps[this.#front]) return;
      this.#front++;
    }
  }

  #compactIfSparse(): void {
    // Stale pairs behind the front (already passed) and within the queue both count: the arrays
    // are rebuilt once they are mostly stale, so they stay within about twice the live entries.
    const stale = this.#keys.length - this.#entries.size;
    if (stale <= Math.max(COMPACT_SLACK, this.#entries.size)) return;
    const keys: K[] = [];
    const stamps: number[] = [];
    for (let i = this.#front; i < this.#keys.length; i++) {
      const entry = this.#entries.get(this.#keys[i]!);
      if (entry !== undefined && entry.stamp === this.#stamps[i]) {
        keys.push(this.#keys[i]!);
        stamps.push(this.#stamps[i]!);
      }
    }
    this.#keys = keys;
    this.#stamps = stamps;
    this.#front = 0;
  }
}
