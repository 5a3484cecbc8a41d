/**
 * Drives ./http-loadgen-process.ts: the bench builds every request before the clock starts, hands
 * them to the load generator's own process, samples the head's CPU around the timed run only, and
 * gets back latencies, statuses and (on request) the answers.
 * @module
 */
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadOptions {
  url: string;
  path: string;
  concurrency: number;
  keepBodies?: boolean;
  countHeader?: string;
  /** More request headers, sent with every request. */
  headers?: Record<string, string>;
}

export interface LoadResult {
  wallMs: number;
  /** CLOCK_MONOTONIC µs at the first send and after the last answer (for profile windows). */
  windowUs: [number, number];
  latenciesMs: number[];
  statuses: number[];
  /** The answers' bodies when `keepBodies`, else empty. */
  answers: (Uint8Array | undefined)[];
  /** Answers per value of `countHeader`. */
  counted: Record<string, number>;
}

/**
 * Sends `requests` (POST, binary) from a separate process with `concurrency` in flight. `around`
 * runs just before the go and just after the last answer (e.g. to sample the head's CPU).
 */
export async function runHttpLoad(
  requests: readonly Uint8Array[],
  options: LoadOptions,
  around: { before?: () => void; after?: () => void } = {},
): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-loadgen-"));
  try {
    const requestsFile = join(dir, "requests.bin");
    const resultsFile = join(dir, "results.json");
    const parts: Buffer[] = [];
    for (const r of requests) {
      const n = Buffer.alloc(4);
      n.writeUInt32BE(r.length);
      parts.push(n, Buffer.from(r.buffer, r.byteOffset, r.length));
    }
    writeFileSync(requestsFile, Buffer.concat(parts));
    const job = { ...options, keepBodies: options.keepBodies ?? false, requestsFile, resultsFile };
    const child = fork(join(__dirname, "http-loadgen-process.ts"), [JSON.stringify(job)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    await new Promise<void>((resolve, reject) => {
      let started = false;
      child.on("message", (m: { ready?: boolean; done?: boolean; failed?: boolean; message?: string }) => {
        if (m.ready && !started) {
          started = true;
          around.before?.();
          child.send({ go: true });
        } else if (m.done) {
          around.after?.();
          resolve();
        } else if (m.failed) reject(new Error(`load generator: ${m.message}`));
      });
      child.on("exit", (code) => {
        if (code !== 0) reject(new Error(`load generator exited with ${code}`));
      });
      child.on("error", reject);
    });
    const raw = JSON.parse(readFileSync(resultsFile, "utf8")) as Omit<LoadResult, "answers"> & {
      answers: (string | null)[];
    };
    return {
      ...raw,
      answers: raw.answers.map((a) => (a === null ? undefined : new Uint8Array(Buffer.from(a, "base64")))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
