/** Waiting for a condition in tests: polled until it holds, failing with a name after a deadline. */

/**
 * Polls `cond` every 10 ms until it holds (the event a test waits for, never a fixed sleep).
 * @throws Error naming `what` after `timeoutMs`, or what `cond` throws
 */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
