/**
 * The telemetry collector for tests and benchmarks: enrolled through a real head like any device,
 * then run in this process ({@link startTestCollector}) or as a child process
 * ({@link collectorProcess}: a fault test SIGKILLs it and starts it again on the same data; the
 * bench samples its CPU and RSS through its pid). The process is ready when it prints its start line.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { type RunningCollector, startCollector } from "../services/collector/collector";
import { loadConfig, type SettingName } from "../services/collector/config";
import { openCollectorDevice } from "../services/collector/identity";
import { freePort } from "../platform/free-port";
import type { TestChain } from "./chain";
import { INSIDE, type TestHead } from "./head";
import { nodeArgs, type Runner, signalled, spawnReady, stopped } from "./spawn";

/** What a collector needs of its head: where it is, its operator token and its deployment file. */
export interface CollectorHead {
  url: string;
  adminToken: string;
  deploymentFile: string;
  rpcUrl: string;
}

/** {@link CollectorHead} of a test head (./head.ts) on `chain`. */
export function collectorHeadOf(head: TestHead, chain: TestChain): CollectorHead {
  const deploymentFile = head.flags.deploymentFile;
  if (deploymentFile === undefined) throw new Error("the test head has no deployment file");
  return { url: head.url, adminToken: head.adminToken, deploymentFile, rpcUrl: chain.node.url };
}

/** The settings of a test collector in `dataDir` joined to `head` (flags override them). */
export function collectorFlags(
  head: CollectorHead,
  dataDir: string,
  flags: Partial<Record<SettingName, string>> = {},
): Partial<Record<SettingName, string>> {
  return {
    dataDir,
    headUrl: head.url,
    rpcUrl: head.rpcUrl,
    deploymentFile: head.deploymentFile,
    latitude: String(INSIDE.lat),
    longitude: String(INSIDE.lon),
    port: "0",
    logLevel: "warn",
    ...flags,
  };
}

/**
 * Creates the collector's identity in `dataDir` and enrolls it through the head's REST API with
 * the operator token, as `npm run collector -- enroll` does.
 * @returns the collector's device ID
 */
export async function enrollCollector(head: CollectorHead, dataDir: string): Promise<string> {
  const config = loadConfig(collectorFlags(head, dataDir), {});
  const device = await openCollectorDevice(config, true);
  try {
    await device.enroll(head.url, head.adminToken);
    return device.deviceId;
  } finally {
    await device.close();
  }
}

/** A fresh temp data directory for a collector. */
export function tempCollectorDir(): string {
  return mkdtempSync(join(tmpdir(), "iotguard-collector-"));
}

export interface TestCollector extends RunningCollector {
  dataDir: string;
  token: string;
  /** GET with the API token. */
  get(path: string): Promise<Response>;
  /** Stops the collector and deletes its data directory. */
  destroy(): Promise<void>;
}

/**
 * Enrolls (when `enroll`, the default) and starts a collector in this process.
 * @param flags settings over the test defaults (e.g. `databaseUrl`, `databaseSchema`)
 */
export async function startTestCollector(
  head: CollectorHead,
  options: {
    flags?: Partial<Record<SettingName, string>>;
    dataDir?: string;
    enroll?: boolean;
    logLines?: string[];
  } = {},
): Promise<TestCollector> {
  const dataDir = options.dataDir ?? tempCollectorDir();
  if (options.enroll ?? true) await enrollCollector(head, dataDir);
  const config = loadConfig(collectorFlags(head, dataDir, options.flags), {});
  const logger = options.logLines
    ? pino({ level: "debug" }, { write: (line: string) => void options.logLines!.push(line) })
    : pino({ level: "silent" });
  const running = await startCollector(config, { logger, version: "test" });
  const token = readFileSync(running.tokenFile, "utf8").trim();
  return {
    ...running,
    dataDir,
    token,
    get: (path) => fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${token}` } }),
    async destroy() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CollectorProcess {
  readonly dataDir: string;
  deviceId: string;
  url: string;
  child: ChildProcess | undefined;
  readonly pid: number;
  output(): string;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

const COLLECTOR_MAIN = "services/collector/main.ts";
/** services/collector/main.ts prints it once it stores readings and serves HTTP. */
const START_LINE = /collector ([0-9a-f]{64}) on (http:\/\/\S+), storing/;

/**
 * Enrolls a collector in a new data directory and starts it as a child process on a fixed free
 * port (kept across restarts).
 * @param flags more command-line flags, e.g. `["--database-url", url, "--database-schema", s]`
 */
export async function collectorProcess(
  head: CollectorHead,
  options: { flags?: string[]; runner?: Runner; dataDir?: string; readyTimeoutMs?: number } = {},
): Promise<CollectorProcess> {
  const dataDir = options.dataDir ?? tempCollectorDir();
  await enrollCollector(head, dataDir);
  const port = await freePort();
  const f = collectorFlags(head, dataDir, { port: String(port) });
  const args = [
    ...[
      "--data-dir",
      dataDir,
      "--head",
      f.headUrl!,
      "--rpc-url",
      f.rpcUrl!,
      "--deployment",
      f.deploymentFile!,
    ],
    ...[
      "--latitude",
      f.latitude!,
      "--longitude",
      f.longitude!,
      "--port",
      String(port),
      "--log-level",
      "warn",
    ],
    ...(options.flags ?? []),
  ];
  const handle: CollectorProcess = {
    dataDir,
    deviceId: "",
    url: `http://127.0.0.1:${port}`,
    child: undefined,
    get pid(): number {
      const pid = handle.child?.pid;
      if (pid === undefined) throw new Error("the collector process was not started");
      return pid;
    },
    output: () => "",
    async start() {
      const { child, match, output } = await spawnReady(
        [...nodeArgs(COLLECTOR_MAIN, options.runner ?? "tsx"), "run", ...args],
        {
          name: "the collector",
          ready: START_LINE,
          stream: "stderr",
          ...(options.readyTimeoutMs === undefined ? {} : { timeoutMs: options.readyTimeoutMs }),
        },
      );
      Object.assign(handle, { child, output, deviceId: match[1], url: match[2] });
    },
    async kill() {
      if (handle.child) await signalled(handle.child, "SIGKILL");
    },
    async stop() {
      if (handle.child) await stopped(handle.child);
    },
    async destroy() {
      await handle.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await handle.start();
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return handle;
}
