/**
 * Child processes for tests and benchmarks: a Node script run from the build output or under tsx,
 * started when it prints its ready line (an event, never a fixed sleep), and ended by signal with
 * the exit awaited.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { built, REPO_ROOT } from "./build";

/** How a TypeScript entry point runs: from the build output (dist/), or its source under tsx. */
export type Runner = "built" | "tsx";

/**
 * Node's arguments to run `script` (a .ts path from the repository root) with `runner`.
 * @example nodeArgs("services/cluster-head/main.ts", "built") // [".../dist/services/cluster-head/main.js"]
 */
export function nodeArgs(script: string, runner: Runner): string[] {
  return runner === "built"
    ? [built(script.replace(/\.ts$/, ".js"))]
    : ["--import", "tsx", resolve(REPO_ROOT, script)];
}

export interface ReadyOptions {
  /** The line that says the process is ready; its match is returned. */
  ready: RegExp;
  /** Where the ready line appears; the other stream is ignored, except stderr, kept for errors. */
  stream: "stdout" | "stderr";
  /** Default 60 s. */
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** What to call the process in errors. */
  name: string;
}

export interface ReadyProcess {
  child: ChildProcess;
  match: RegExpMatchArray;
  /** The last few KB the process wrote on stderr (and on stdout when that is the ready stream). */
  output(): string;
}

const KEPT_OUTPUT = 8000;

/**
 * Spawns `node ...args` in the repository root and resolves when `ready` matches its output.
 * @throws Error with the process's last output when it exits, fails to spawn or is not ready in
 *   time; the child is then SIGKILLed and its exit awaited, so no process outlives the failure
 */
export async function spawnReady(args: string[], options: ReadyOptions): Promise<ReadyProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ["ignore", options.stream === "stdout" ? "pipe" : "ignore", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let kept = "";
  let scanned = "";
  let onOutput = (): void => {};
  const keep = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const text = chunk.toString();
    kept = (kept + text).slice(-KEPT_OUTPUT);
    if (stream === options.stream) {
      scanned += text;
      onOutput();
    }
  };
  // Listeners stay for the child's life: they drain the pipes, so a chatty child never blocks.
  child.stderr?.on("data", keep("stderr"));
  if (options.stream === "stdout") child.stdout?.on("data", keep("stdout"));
  try {
    const match = await new Promise<RegExpMatchArray>((resolveReady, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`${options.name} was not ready within ${timeoutMs} ms: ${kept}`)),
        timeoutMs,
      );
      const onExit = (code: number | null, signal: string | null) =>
        finish(new Error(`${options.name} exited (${code ?? signal}) before it was ready: ${kept}`));
      const onError = (error: Error) => finish(new Error(`${options.name} did not start: ${error.message}`));
      const finish = (error: Error | undefined, match?: RegExpMatchArray) => {
        clearTimeout(timer);
        onOutput = () => {};
        child.off("close", onExit);
        child.off("error", onError);
        scanned = "";
        if (error) reject(error);
        else resolveReady(match as RegExpMatchArray);
      };
      onOutput = () => {
        const match = scanned.match(options.ready);
        if (match) finish(undefined, match);
      };
      // "close", not "exit": by then the pipes are drained, so the error shows its last words.
      child.once("close", onExit);
      child.once("error", onError);
    });
    return { child, match, output: () => kept };
  } catch (error) {
    await signalled(child, "SIGKILL");
    throw error;
  }
}

function running(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` (SIGKILL by default: no chance to clean up) and resolves when the child has exited. */
export async function signalled(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await exited;
}

/** SIGTERM, so the child can close its stores; SIGKILL when it has not exited after `graceMs`. */
export async function stopped(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once("exit", r));
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  child.kill("SIGTERM");
  await exited;
  clearTimeout(timer);
}
