/**
 * The HTTP load generator's own process (started by ./http-loadgen.ts): it reads requests the bench
 * built before the clock started, waits for "go", sends them with a fixed number in flight over
 * keep-alive connections, and writes what came back to a file. Nothing is built or checked while
 * the clock runs, and it has a core of its own, so the head is what is measured.
 * Messages (IPC): parent → {go}; child → {ready} | {done, file} | {failed, message}.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";

interface Job {
  url: string;
  path: string;
  concurrency: number;
  /** Length-prefixed (u32 BE) request bodies. */
  requestsFile: string;
  resultsFile: string;
  /** Keep the answers' bodies (joins: the devices finish with them after the clock). */
  keepBodies: boolean;
  /** A response header whose value is counted (e.g. x-iotguard-outcome). */
  countHeader?: string;
}

function readRequests(file: string): Buffer[] {
  const all = readFileSync(file);
  const out: Buffer[] = [];
  for (let o = 0; o < all.length;) {
    const n = all.readUInt32BE(o);
    out.push(all.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

async function run(job: Job, bodies: Buffer[]) {
  const target = new URL(job.path, job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latenciesMs = new Float64Array(bodies.length);
  const statuses = new Uint16Array(bodies.length);
  const answers: (Buffer | undefined)[] = new Array(bodies.length);
  const counted: Record<string, number> = {};
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = bodies[i] as Buffer;
      const t0 = performance.now();
      const req = request(
        {
          agent,
          method: "POST",
          hostname: target.hostname,
          port: target.port,
          path: target.pathname,
          headers: { "content-type": "application/octet-stream", "content-length": body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            latenciesMs[i] = performance.now() - t0;
            statuses[i] = res.statusCode ?? 0;
            if (job.keepBodies) answers[i] = Buffer.concat(chunks);
            if (job.countHeader) {
              const v = String(res.headers[job.countHeader] ?? `status-${res.statusCode}`);
              counted[v] = (counted[v] ?? 0) + 1;
            }
            resolve();
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const worker = async () => {
    while (next < bodies.length) await one(next++);
  };
  const start = performance.now();
  // The monotonic clock of the head's CPU profile is CLOCK_MONOTONIC too: the window is comparable.
  const windowUs = [Number(process.hrtime.bigint() / 1000n), 0];
  await Promise.all(Array.from({ length: Math.min(job.concurrency, bodies.length) }, worker));
  const wallMs = performance.now() - start;
  windowUs[1] = Number(process.hrtime.bigint() / 1000n);
  agent.destroy();
  return { wallMs, windowUs, latenciesMs: [...latenciesMs], statuses: [...statuses], answers, counted };
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
const bodies = readRequests(job.requestsFile);
process.on("message", (message: { go?: boolean }) => {
  if (!message.go) return;
  run(job, bodies).then(
    (result) => {
      const answers = result.answers.map((a) => (a ? a.toString("base64") : null));
      writeFileSync(job.resultsFile, JSON.stringify({ ...result, answers }));
      process.send?.({ done: true }, () => process.exit(0));
    },
    (error: Error) => process.send?.({ failed: true, message: error.message }, () => process.exit(1)),
  );
});
process.send?.({ ready: true });
