/** runPool: the bounded, closed-loop job runner of the load tests and the bench. */
import { describe, expect, it } from "vitest";
import { runPool } from "../../testkit/pool";

describe("runPool", () => {
  it("runs every job once with never more than `concurrency` in flight, and times each", async () => {
    let inFlight = 0;
    let peak = 0;
    const ran: number[] = [];
    const { latenciesMs, wallMs } = await runPool(40, 3, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      ran.push(i);
      inFlight--;
    });
    expect(ran.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(latenciesMs).toHaveLength(40);
    expect(latenciesMs.every((ms) => ms >= 0)).toBe(true);
    expect(wallMs).toBeGreaterThanOrEqual(0);
  });

  it("rejects with the first job error and starts no job after it", async () => {
    const started: number[] = [];
    await expect(
      runPool(100, 4, async (i) => {
        started.push(i);
        await new Promise((r) => setImmediate(r));
        if (i === 5) throw new Error("job 5 failed");
      }),
    ).rejects.toThrow("job 5 failed");
    // Let any worker that would go on run its next turns.
    for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));
    // Jobs 0-3 start first; at most one more per worker before job 5 fails: nowhere near 100.
    expect(Math.max(...started)).toBeLessThan(10);
  });
});
