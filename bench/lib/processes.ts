/**
 * What the suites measure against and with: the cluster head as a child process through the
 * testkit's one launcher (built, as `npm run cluster-head` runs it, or under tsx for comparison;
 * the head's own product settings), a bare aedes broker, a private Mosquitto with limits raised
 * for bursts (testkit/brokers.ts), a keep-alive HTTP client, and CPU/RSS sampling from /proc.
 * Each server runs in its own process so the bench's client work and the server's work use
 * different cores, and so the server's RSS and CPU can be sampled.
 * @module
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { fromHex } from "../../protocol/bytes";
import { startPrivateMosquitto } from "../../testkit/brokers";
import type { TestChain } from "../../testkit/chain";
import { headProcess, type Runner } from "../../testkit/head-process";
import { nodeArgs, spawnReady, stopped } from "../../testkit/spawn";

export type { Runner } from "../../testkit/head-process";

/** Minimal keep-alive HTTP client: the bench's own overhead per request stays small and constant. */
export class HttpClient {
  readonly #agent: Agent;
  constructor(
    readonly baseUrl: string,
    maxSockets = 64,
  ) {
    this.#agent = new Agent({ keepAlive: true, maxSockets });
  }

  /** Sends a request; resolves with status, headers and the body bytes. Counts bytes both ways. */
  send(
    method: string,
    path: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return this.#send(method, path, body, headers, true);
  }

  #send(
    method: string,
    path: string,
    body: Uint8Array | string | undefined,
    headers: Record<string, string>,
    mayRetry: boolean,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const url = new URL(path, this.baseUrl);
    return new Promise((resolvePromise, reject) => {
      const req = request(
        {
          agent: this.#agent,
          method,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          headers: {
            ...headers,
            ...(body !== undefined ? { "content-length": Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolvePromise({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", (error: NodeJS.ErrnoException) => {
        // The server closed an idle keep-alive socket just as we reused it: the request never
        // reached it, so sending it again is safe (the pattern the Node http docs give).
        if (mayRetry && req.reusedSocket && error.code === "ECONNRESET") {
          this.#send(method, path, body, headers, false).then(resolvePromise, reject);
        } else reject(error);
      });
      req.end(body);
    });
  }

  /** Binary protocol POST. */
  post(path: string, bytes?: Uint8Array) {
    return this.send("POST", path, bytes, { "content-type": "application/octet-stream" });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** A head as the suites drive it: over {@link HttpClient}, its address as bytes, its process's pid. */
export interface BenchHead {
  /** The process to sample with {@link procUsage}. */
  pid: number;
  url: string;
  brokerUrl: string;
  headAddress: Uint8Array;
  clusterId: number;
  http: HttpClient;
  /** Operator JSON request with the bearer token. */
  operator(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  /** Stops the head and deletes its files. */
  stop(): Promise<void>;
}

/**
 * Wraps a running head (a process from {@link startHeadProcess}, or the testkit's in-process head)
 * for the suites; `stop` ends the head.
 */
export function benchHead(
  head: { url: string; brokerUrl: string; headAddress: string; clusterId: number; adminToken: string },
  pid: number,
  stop: () => Promise<void>,
): BenchHead {
  const http = new HttpClient(head.url);
  return {
    pid,
    url: head.url,
    brokerUrl: head.brokerUrl,
    headAddress: fromHex(head.headAddress.slice(2)),
    clusterId: head.clusterId,
    http,
    async operator(method, path, body) {
      const res = await http.send(method, path, body === undefined ? undefined : JSON.stringify(body), {
        authorization: `Bearer ${head.adminToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      });
      const text = res.body.toString();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async stop() {
      http.close();
      await stop();
    },
  };
}

/**
 * Starts the cluster head as a child process against `chain` (testkit/head-process.ts), with
 * product defaults except ports and paths: built (as `npm run cluster-head` runs it) unless
 * `runner` says tsx. Cluster 1 unless `extraFlags` names another.
 */
export async function startHeadProcess(
  chain: TestChain,
  extraFlags: string[] = [],
  runner: Runner = "built",
  options: {
    cpuProfileDir?: string | undefined;
    nodeOptions?: string[];
    mainScript?: string;
    /** Over the head's own environment (testkit/head-process.ts `env`). */
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<BenchHead> {
  const head = await headProcess(chain, {
    runner,
    ...(options.mainScript ? { mainScript: options.mainScript } : {}),
    settings: "product",
    ...(options.env ? { env: options.env } : {}),
    port: 0,
    flags: ["--cluster-id", "1", ...extraFlags],
    nodeOptions: [
      ...(options.nodeOptions ?? []),
      // Written when the head exits (stop() is a SIGTERM, which the head answers with a clean exit).
      ...(options.cpuProfileDir
        ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`, "--cpu-prof-interval=250"]
        : []),
    ],
  });
  return benchHead(head, head.pid, () => head.destroy());
}

/**
 * CPU seconds (user + system) of a process and of its main thread alone, and its RSS in MB, from
 * /proc. The rest of the CPU is its other threads': V8's (garbage collection, compilation),
 * libuv's pool (level writes and their fsync) and LevelDB's compaction thread, none of which a
 * `--cpu-prof` profile of the main thread shows.
 */
export function procUsage(pid: number): { cpuS: number; mainThreadCpuS: number; rssMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKB = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return {
    cpuS: cpuTicks(`/proc/${pid}/stat`) / 100,
    mainThreadCpuS: cpuTicks(`/proc/${pid}/task/${pid}/stat`) / 100,
    rssMB: rssKB / 1024,
  };
}

/** utime + stime of a /proc stat file, in clock ticks (100 per second on Linux). */
function cpuTicks(file: string): number {
  const stat = readFileSync(file, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command: state is [0], utime [11], stime [12] (proc(5) fields 14 and 15).
  return Number(fields[11]) + Number(fields[12]);
}

export interface BrokerProcess {
  name: "aedes" | "mosquitto";
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** A bare aedes in its own process (bench/brokers/aedes-broker.ts under tsx). */
export async function startAedes(): Promise<BrokerProcess> {
  const { child, match } = await spawnReady(nodeArgs("bench/brokers/aedes-broker.ts", "tsx"), {
    name: "the aedes broker",
    ready: /listening (\d+)/,
    stream: "stdout",
    env: { NODE_ENV: "production" },
  });
  return {
    name: "aedes",
    url: `mqtt://127.0.0.1:${match[1]}`,
    pid: child.pid as number,
    stop: () => stopped(child),
  };
}

/** The `grant` suite's transport floor (./http-floor-server.ts) in its own process. */
export async function startHttpFloor(
  answerBytes: number,
): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const { child, match } = await spawnReady(
    [...nodeArgs("bench/lib/http-floor-server.ts", "tsx"), String(answerBytes)],
    {
      name: "the bare node:http server",
      ready: /listening (\d+)/,
      stream: "stdout",
      env: { NODE_ENV: "production" },
    },
  );
  return { url: `http://127.0.0.1:${match[1]}`, pid: child.pid as number, stop: () => stopped(child) };
}

/**
 * A private Mosquitto on a free port with queue and packet limits raised, so a burst is measured
 * rather than cut at the default max_queued_messages (1000), and `set_tcp_nodelay true`. The
 * machine's Mosquitto is never touched.
 */
export async function startMosquitto(): Promise<BrokerProcess> {
  const mosquitto = await startPrivateMosquitto({
    maxQueuedMessages: 1_000_000,
    maxPacketSize: 1_048_576,
    // As docs/mqtt.md tells deployments to: without it QoS 0 runs wait on delayed ACKs (p95 ~44 ms).
    tcpNoDelay: true,
  });
  return { name: "mosquitto", url: mosquitto.url, pid: mosquitto.pid, stop: () => mosquitto.stop() };
}
