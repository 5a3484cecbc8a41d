/** Bounded concurrency for load tests and benchmarks: many async jobs, a fixed number in flight. */

/**
 * Runs jobs 0 … `count - 1` with at most `concurrency` in flight, each started as soon as a slot
 * frees (a closed loop, not batches).
 * @returns each job's latency (ms, by index) and the wall time of the whole run
 * @throws the first job error (the jobs in flight run on; none is started after it)
 */
export async function runPool(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<void>,
): Promise<{ latenciesMs: number[]; wallMs: number }> {
  const latenciesMs: number[] = new Array(count);
  let next = 0;
  let failed = false;
  const start = performance.now();
  const worker = async () => {
    while (next < count && !failed) {
      const i = next++;
      const t0 = performance.now();
      try {
        await job(i);
      } catch (error) {
        failed = true;
        throw error;
      }
      latenciesMs[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { latenciesMs, wallMs: performance.now() - start };
}
