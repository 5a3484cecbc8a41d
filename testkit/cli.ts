/**
 * Runs the `iotguard` CLI as real child processes, as a user does: the package's bin
 * (device/cli/iotguard.cjs) on the built JavaScript in dist/, rebuilt first when stale.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { CLI_BIN, ensureBuilt, REPO_ROOT } from "./build";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns the CLI and waits for it to exit. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`iotguard ${args.join(" ")} did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Spawns the CLI and returns the running process (for `device listen`). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  ensureBuilt(); // before runCli's timer starts; the launcher then finds dist/ fresh
  return spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Collects JSON lines from a running CLI's stdout and waits for one that matches. */
export class JsonLines {
  readonly lines: Record<string, unknown>[] = [];
  private buffer = "";
  private readonly listeners = new Set<() => void>();

  constructor(child: ChildProcessWithoutNullStreams) {
    child.stdout.on("data", (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          this.lines.push({ raw: line });
        }
      }
      for (const l of this.listeners) l();
    });
  }

  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolvePromise, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (!found) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolvePromise(found);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.lines)}`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }
}
