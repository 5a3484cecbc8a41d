/**
 * A `hardhat node` child process on 127.0.0.1, used by `npm start` and the integration tests: a
 * real JSON-RPC chain that other processes can reach, unlike Hardhat's in-process network.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { freePort } from "../platform/free-port";

export interface LocalNode {
  url: string;
  port: number;
  /** Stops the node (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** The child process, e.g. to kill it with SIGKILL in fault tests. */
  process: ChildProcess;
}

const REPO_ROOT = resolve(__dirname, "..");

/**
 * Starts `hardhat node` on `port` (a free one by default) and resolves once its RPC answers.
 * @throws Error with the node's output if it exits or is not ready within `timeoutMs`.
 */
export async function startLocalNode(
  options: { port?: number; timeoutMs?: number } = {},
): Promise<LocalNode> {
  const port = options.port ?? (await freePort());
  const hardhatBin = require.resolve("hardhat/internal/cli/bootstrap", { paths: [REPO_ROOT] });
  const child = spawn(
    process.execPath,
    [hardhatBin, "node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, HARDHAT_NETWORK: undefined },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `hardhat node exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`,
      );
    }
    if (await rpcAnswers(url)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`hardhat node on port ${port} not ready in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  };
  return { url, port, stop, process: child };
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}
