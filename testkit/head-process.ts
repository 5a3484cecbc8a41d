/**
 * The cluster head as a real child process: the one launcher of tests (a fault test SIGKILLs it
 * and starts it again on the same URL with its state; a load test reads its RSS) and of the bench
 * (which samples its CPU and RSS through its pid). It runs the built JavaScript
 * (`dist/services/cluster-head/main.js`, what `npm run cluster-head` runs), rebuilt first when a
 * source is newer than dist/, or on request the source under tsx. The head is ready when it prints
 * its start line, which also names its URLs, address and cluster.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeDeployment } from "../chain/deployment-file";
import { freePort } from "../platform/free-port";
import { HEAD_ENVIRONMENT, HEAD_NODE_FLAGS } from "../services/cluster-head/node-flags";
import type { TestChain } from "./chain";
import { nodeArgs, type Runner, signalled, spawnReady, stopped } from "./spawn";

export type { Runner } from "./spawn";

/** The head's `--log-level` values (services/cluster-head/config.ts). */
export type HeadLogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface HeadProcessOptions {
  /** "built" (default): dist/, as `npm run cluster-head` runs it; "tsx": the source under tsx. */
  runner?: Runner;
  /**
   * "test" (default): quiet (`--log-level warn`) and quick to see the chain
   * (`--poll-interval-ms 50`). "product": the head's own defaults, as an operator runs it.
   */
  settings?: "test" | "product";
  /** Overrides the log level of `settings`. */
  logLevel?: HeadLogLevel;
  /**
   * The HTTP port. "free" (default): a free port chosen once and kept, so `url` stays the same
   * across a restart. 0: the head binds a port of its own at every start (no race for a probed
   * port; `url` is renewed from its start line). The embedded broker always takes a port of its own.
   */
  port?: "free" | number;
  /** More command-line flags, after the launcher's own (the last of a repeated flag wins). */
  flags?: string[];
  /** How long a start may take until the start line; default 60 s. */
  readyTimeoutMs?: number;
  /** More flags for node itself, after the head's own (HEAD_NODE_FLAGS), e.g. `--cpu-prof`. */
  nodeOptions?: string[];
  /** Set in the head's environment over its own (HEAD_ENVIRONMENT); a name set to undefined is left out. */
  env?: NodeJS.ProcessEnv;
  /**
   * The head's main.js of another build (a worktree's dist/), instead of this checkout's: for an
   * A/B of two versions of the code under the same load (bench/lib/head-flags-ab.ts `--a-main`).
   */
  mainScript?: string;
}

export interface HeadProcess {
  /** The temp directory holding everything the head writes: deployment.json and data/. */
  readonly dir: string;
  readonly dataDir: string;
  readonly adminToken: string;
  /** From the latest start line. */
  url: string;
  /** From the latest start line, credentials redacted. */
  brokerUrl: string;
  /** 0x-prefixed, from the latest start line. */
  headAddress: string;
  clusterId: number;
  /** The running child (replaced by {@link start}); undefined before the first start. */
  child: ChildProcess | undefined;
  /** The child's pid, for /proc sampling. @throws when no child was started */
  readonly pid: number;
  /** The head's last words on stderr. */
  output(): string;
  /** Starts the head (again, on the same data) and resolves on its start line; fails with its stderr. */
  start(): Promise<void>;
  /** SIGKILL: no chance to clean up. Resolves when it has exited. */
  kill(): Promise<void>;
  /** SIGTERM (the head closes its stores), SIGKILL after 5 s. The data stay for {@link start}. */
  stop(): Promise<void>;
  /** Stops the head and deletes its temp directory. */
  destroy(): Promise<void>;
}

const HEAD_MAIN = "services/cluster-head/main.ts";

/** services/cluster-head/main.ts prints it once the head serves HTTP and MQTT. */
const START_LINE =
  /cluster head for cluster (\d+) \((0x[0-9a-fA-F]{40})\) on (http:\/\/\S+), MQTT on (mqtt:\/\/\S+?)[;\s]/;

/** Radius 2,000,000 µ° around (0, 0): the testkit's INSIDE position (testkit/head.ts) is a member. */
const RADIUS = "2000000";

/**
 * Starts a cluster head process against `chain` and resolves once it is ready.
 * @param flags shorthand for `{ flags }`
 * @throws Error with the head's stderr when it exits or is not ready in time; the child is killed
 *   and the temp directory deleted
 */
export async function headProcess(
  chain: TestChain,
  flagsOrOptions: string[] | HeadProcessOptions = {},
): Promise<HeadProcess> {
  const options = Array.isArray(flagsOrOptions) ? { flags: flagsOrOptions } : flagsOrOptions;
  const settings = options.settings ?? "test";
  const dir = mkdtempSync(join(tmpdir(), "iotguard-head-process-"));
  try {
    const deploymentFile = join(dir, "deployment.json");
    writeDeployment(deploymentFile, chain.deployment);
    const port = options.port === undefined || options.port === "free" ? await freePort() : options.port;
    const adminToken = randomBytes(32).toString("base64url");
    const dataDir = join(dir, "data");
    const logLevel = options.logLevel ?? (settings === "test" ? "warn" : undefined);
    const args = [
      ...["--rpc-url", chain.node.url, "--deployment", deploymentFile, "--data-dir", dataDir],
      ...["--port", String(port), "--broker-port", "0", "--admin-token", adminToken, "--radius", RADIUS],
      ...(logLevel ? ["--log-level", logLevel] : []),
      ...(settings === "test" ? ["--poll-interval-ms", "50"] : []),
      ...(options.flags ?? []),
    ];
    const handle: HeadProcess = {
      dir,
      dataDir,
      adminToken,
      url: `http://127.0.0.1:${port}`,
      brokerUrl: "",
      headAddress: "",
      clusterId: 0,
      child: undefined,
      get pid(): number {
        const pid = handle.child?.pid;
        if (pid === undefined) throw new Error("the head process was not started");
        return pid;
      },
      output: () => "",
      async start() {
        if (handle.child && handle.child.exitCode === null && handle.child.signalCode === null) {
          throw new Error("the head is already running");
        }
        const { child, match, output } = await spawnReady(
          [
            ...HEAD_NODE_FLAGS,
            ...(options.nodeOptions ?? []),
            ...(options.mainScript ? [options.mainScript] : nodeArgs(HEAD_MAIN, options.runner ?? "built")),
            ...args,
          ],
          {
            name: "the cluster head",
            ready: START_LINE,
            stream: "stderr",
            env: { NODE_ENV: "production", ...HEAD_ENVIRONMENT, ...options.env },
            ...(options.readyTimeoutMs === undefined ? {} : { timeoutMs: options.readyTimeoutMs }),
          },
        );
        const [, clusterId, headAddress, url, brokerUrl] = match;
        if (!clusterId || !headAddress || !url || !brokerUrl)
          throw new Error(`the head's start line lacks a field: ${match[0]}`);
        Object.assign(handle, {
          child,
          output,
          url,
          brokerUrl,
          headAddress,
          clusterId: Number(clusterId),
        });
      },
      async kill() {
        if (handle.child) await signalled(handle.child, "SIGKILL");
      },
      async stop() {
        if (handle.child) await stopped(handle.child);
      },
      async destroy() {
        await handle.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await handle.start();
    return handle;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
