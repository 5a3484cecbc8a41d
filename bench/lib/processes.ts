/**
 * Child processes the suites measure against: the cluster head as `npm run cluster-head` runs it
 * (the built `dist/services/cluster-head/main.js`; under tsx on request, for comparison), a bare
 * aedes broker and a private Mosquitto with limits raised for bursts. Each runs in its own process
 * so the bench's client work and the server's work use different cores, and so the server's RSS
 * and CPU can be sampled from /proc.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeDeployment } from "../../chain/deployment-file";
import { freePort } from "../../platform/free-port";
import { built } from "../../testkit/build";
import type { TestChain } from "../../testkit/chain";
import { canConnect } from "../../testkit/brokers";

const ROOT = resolve(__dirname, "../..");

/** How a TypeScript entry point is run: from the build output, or its source through tsx. */
export type Runner = "built" | "tsx";

/** Node's arguments to run `script` (a path to a .ts file from the repository root) with `runner`. */
export function nodeArgs(script: string, runner: Runner): string[] {
  return runner === "built"
    ? [built(script.replace(/\.ts$/, ".js"))]
    : ["--import", "tsx", resolve(ROOT, script)];
}

/** Spawns `script` with `runner` and resolves with the first stdout/stderr line matching `ready`. */
function spawnScript(
  script: string,
  runner: Runner,
  args: string[],
  ready: RegExp,
  stream: "stdout" | "stderr",
  timeoutMs = 60_000,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [...nodeArgs(script, runner), ...args], {
    cwd: ROOT,
    stdio: ["ignore", stream === "stdout" ? "pipe" : "ignore", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  return new Promise((resolvePromise, reject) => {
    let buffered = "";
    let errors = "";
    const timer = setTimeout(
      () => fail(new Error(`${script} not ready after ${timeoutMs} ms: ${errors.slice(-500)}`)),
      timeoutMs,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = buffered.match(ready);
      if (match) {
        clearTimeout(timer);
        child[stream]?.off("data", onData);
        child[stream]?.resume();
        resolvePromise({ child, match });
      }
    };
    child[stream]?.on("data", onData);
    if (stream === "stdout") child.stderr?.on("data", (c: Buffer) => void (errors += c.toString()));
    else child.stderr?.on("data", (c: Buffer) => void (errors += c.toString()));
    child.once("exit", (code) => fail(new Error(`${script} exited with ${code}: ${errors.slice(-800)}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.removeAllListeners("exit");
    child.once("exit", () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill("SIGTERM");
  });
}

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

export interface HeadProcess {
  pid: number;
  url: string;
  brokerUrl: string;
  headAddress: Uint8Array;
  clusterId: number;
  http: HttpClient;
  /** Operator JSON request with the bearer token. */
  operator(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  stop(): Promise<void>;
}

/**
 * Starts the cluster head as a child process against `chain`, with product defaults except ports
 * and paths: built (as `npm run cluster-head` runs it) unless `runner` says tsx.
 */
export async function startHeadProcess(
  chain: TestChain,
  extraFlags: string[] = [],
  runner: Runner = "built",
): Promise<HeadProcess> {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-bench-head-"));
  const deploymentFile = join(dir, "deployment.json");
  writeDeployment(deploymentFile, chain.deployment);
  const adminToken = randomBytes(32).toString("base64url");
  const { child, match } = await spawnScript(
    "services/cluster-head/main.ts",
    runner,
    [
      "--rpc-url",
      chain.node.url,
      "--deployment",
      deploymentFile,
      "--data-dir",
      join(dir, "data"),
      "--port",
      "0",
      "--broker-port",
      "0",
      "--admin-token",
      adminToken,
      "--cluster-id",
      "1",
      "--radius",
      "2000000",
      ...extraFlags,
    ],
    /cluster head for cluster (\d+) \((0x[0-9a-fA-F]{40})\) on (http:\/\/\S+), MQTT on (mqtt:\/\/\S+?)[;\s]/,
    "stderr",
  );
  const [, clusterId, headAddress, url, brokerUrl] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const http = new HttpClient(url);
  return {
    pid: child.pid as number,
    url,
    brokerUrl,
    headAddress: Buffer.from(headAddress.slice(2), "hex"),
    clusterId: Number(clusterId),
    http,
    async operator(method, path, body) {
      const res = await http.send(method, path, body === undefined ? undefined : JSON.stringify(body), {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      });
      const text = res.body.toString();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async stop() {
      http.close();
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) and RSS in MB of a process, from /proc. */
export function procUsage(pid: number): { cpuS: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command: state is [0], utime [11], stime [12] (proc(5) fields 14 and 15).
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKB = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return { cpuS: ticks / 100, rssMB: rssKB / 1024 };
}

/** RSS (MB) of an idle `node` and an idle `node --import tsx`, to tell the loader from the head. */
export async function loaderRssMB(): Promise<{ node: number; tsx: number }> {
  const measure = (args: string[]) =>
    new Promise<number>((resolvePromise, reject) => {
      const child = spawn(
        process.execPath,
        [...args, "-e", "setTimeout(() => console.log(process.memoryUsage().rss / 2 ** 20), 500)"],
        { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] },
      );
      let out = "";
      child.stdout?.on("data", (c: Buffer) => void (out += c.toString()));
      child.once("exit", (code) =>
        code === 0 ? resolvePromise(Number(out.trim())) : reject(new Error(`exit ${code}`)),
      );
    });
  return { node: await measure([]), tsx: await measure(["--import", "tsx"]) };
}

export interface BrokerProcess {
  name: "aedes" | "mosquitto";
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** A bare aedes in its own process. */
export async function startAedes(): Promise<BrokerProcess> {
  const { child, match } = await spawnScript("bench/brokers/aedes-broker.ts", "tsx", [], /listening (\d+)/, "stdout");
  return {
    name: "aedes",
    url: `mqtt://127.0.0.1:${match[1]}`,
    pid: child.pid as number,
    stop: () => stopChild(child),
  };
}

/**
 * A private Mosquitto on a free port with queue limits raised, so a burst is measured rather than
 * cut at the default max_queued_messages (1000). The machine's Mosquitto is never touched.
 */
export async function startMosquitto(): Promise<BrokerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-bench-mosq-"));
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      "max_queued_messages 1000000",
      "max_inflight_messages 0",
      "max_packet_size 1048576",
      "log_type error",
      "",
    ].join("\n"),
  );
  const child = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect("127.0.0.1", port, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error("private mosquitto did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: "mosquitto",
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
