/**
 * The V8 flags and the environment the head runs with (`npm run cluster-head`, the `iotguard-cluster-head` bin's
 * shebang, the testkit's head processes). V8 reads them at start only, so they cannot be set from
 * inside the process.
 * - The young generation is capped at 4 MB per semi-space (V8's default grows it to 16 MB): the
 *   head's garbage is short-lived request data, and the cap kept the head's RSS at 10k devices at
 *   135 MB instead of 192 MB (bench `scale`, two runs on one commit).
 * - The old generation may grow to 1.2× what survived the last full collection before the next
 *   one (`--heap-growing-percent=20`; V8 otherwise lets it grow several times over): under grant
 *   load the head's RSS stayed at 104–129 MB over 36k grants instead of climbing 107 → 190 MB, for
 *   about 16 % more head CPU per grant (0.81 vs 0.70 ms, medians of 12 alternating chunks of two
 *   heads in one run: `npx tsx bench/lib/head-flags-ab.ts --heap-growing-percent=20 --chunks 12
 *   --chunk 3000`, 2026-11-28). A head that must answer more grants per core rather than fit a
 *   small gateway's memory can be started without it.
 * - Garbage is collected on the main thread alone (`--single-threaded-gc`), not also by V8's
 *   helper threads: on a 2-core machine shared with the broker and the clients the helpers'
 *   concurrent marking cost more CPU than it saved the main thread. Under grant load, head CPU
 *   per grant was 0.88 and 0.92 of the default's (medians of the chunk-by-chunk ratios, 10 and 14
 *   alternating chunks of 5,000 grants, `npx tsx bench/lib/head-flags-ab.ts --single-threaded-gc`,
 *   2026-11-28), main-thread CPU +3 %, grants/s and RSS unchanged; the grant latency under load
 *   was no worse (p99 22 ms against 32 ms in two successive `npm run bench -- grant` runs).
 */
export const HEAD_NODE_FLAGS = [
  "--max-semi-space-size=4",
  "--heap-growing-percent=20",
  "--single-threaded-gc",
] as const;

/**
 * The C library settings the head runs with, as environment variables (glibc reads them at start).
 * - `MALLOC_MMAP_THRESHOLD_`: an allocation of 128 KiB or more that no free block of the heap can
 *   hold gets pages of its own, returned when it is freed; and the heap is trimmed once 128 KiB at
 *   its top are free. By default glibc raises both thresholds as large blocks are freed (the mmap
 *   threshold to the largest such block, up to 32 MiB; the trim threshold to twice that): once a
 *   block larger than a snapshot record had been freed, the grant journal's snapshot records came
 *   from the heap and their pages stayed. The first snapshot under grant load left about 8 MB of
 *   RSS behind for good (the head's anonymous memory beyond V8's heap: 24 MB after it against 15 MB
 *   before) and the grant bench's RSS row read 1.08; with the threshold fixed that memory stayed at
 *   14–16 MB and the row at 1.00 (`npm run bench -- grant`, 2026-11-28). Two heads in one run, 16
 *   alternating chunks of 5,000 grants: the same head CPU per grant (the head without it at 0.98 of
 *   the head with it), RSS after the snapshot 109–114 MB with it and 117–120 MB without
 *   (`npx tsx bench/lib/head-flags-ab.ts --b-env MALLOC_MMAP_THRESHOLD_= --chunks 16 --chunk 5000`).
 *   The journal's snapshot chunks (platform/append-journal.ts) count on it.
 */
export const HEAD_ENVIRONMENT = { MALLOC_MMAP_THRESHOLD_: "131072" } as const;

/** {@link HEAD_ENVIRONMENT} as `NAME=value` words, for a shell command or `env -S`. */
export const HEAD_ENVIRONMENT_WORDS: readonly string[] = Object.entries(HEAD_ENVIRONMENT).map(
  ([name, value]) => `${name}=${value}`,
);

/** Whether this process runs on glibc, the C library {@link HEAD_ENVIRONMENT} speaks to. */
export function runsOnGlibc(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: unknown } } | undefined;
  const header = report?.header;
  return typeof header?.glibcVersionRuntime === "string";
}

/**
 * The {@link HEAD_ENVIRONMENT} variables missing from `env` where they apply (on glibc), for a
 * warning at start: a head started with `node` by hand, without them, keeps more memory.
 */
export function missingHeadEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  onGlibc: boolean = runsOnGlibc(),
): string[] {
  if (!onGlibc) return [];
  return Object.keys(HEAD_ENVIRONMENT).filter((name) => env[name] === undefined);
}
