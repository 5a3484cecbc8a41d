/**
 * A promise settled from outside, whose rejection is already handled: its waiters may all have
 * gone (a failed join, a closed device), and an unobserved rejection would end the process. A
 * waiter that awaits it still sees the rejection.
 * @module
 */
export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export function handledDeferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
