/**
 * The cluster head as a real child process on a fixed port and data directory, so a test can
 * SIGKILL it and start it again with its state, or read its own RSS. It runs the built JavaScript
 * (`node dist/services/cluster-head/main.js`, what `npm run cluster-head` runs), rebuilt first
 * when a source is newer than dist/.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeDeployment } from "../chain/deployment-file";
import { freePort } from "../platform/free-port";
import { built, REPO_ROOT } from "./build";
import type { TestChain } from "./chain";

export interface HeadProcess {
  url: string;
  token: string;
  dataDir: string;
  /** The running child (replaced by {@link start}). */
  child: ChildProcess | undefined;
  /** Starts the head (again) and resolves when /health answers 200; fails with its stderr. */
  start(): Promise<void>;
  /** SIGKILL, no chance to clean up. */
  kill(): Promise<void>;
  /** SIGKILL and delete the temp directory. */
  destroy(): Promise<void>;
}

export async function headProcess(chain: TestChain, flags: string[] = []): Promise<HeadProcess> {
  const dir = mkdtempSync(join(tmpdir(), "iotguard-head-process-"));
  const deploymentFile = join(dir, "deployment.json");
  writeDeployment(deploymentFile, chain.deployment);
  const port = await freePort();
  const token = randomBytes(32).toString("hex");
  const dataDir = join(dir, "data");
  const url = `http://127.0.0.1:${port}`;
  const args = [
    built("services/cluster-head/main.js"),
    "--rpc-url",
    chain.node.url,
    "--deployment",
    deploymentFile,
    "--data-dir",
    dataDir,
    "--port",
    String(port),
    "--broker-port",
    "0",
    "--admin-token",
    token,
    "--log-level",
    "warn",
    "--poll-interval-ms",
    "50",
    "--radius",
    "2000000",
    ...flags,
  ];
  const handle: HeadProcess = {
    url,
    token,
    dataDir,
    child: undefined,
    async start() {
      const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
      handle.child = child;
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the head exited (${child.exitCode}): ${stderr}`);
        const up = await fetch(`${url}/health`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (up) return;
        if (Date.now() > deadline) throw new Error(`the head did not become healthy: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill() {
      const child = handle.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
    async destroy() {
      await handle.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
