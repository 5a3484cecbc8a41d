/**
 * A bench child process under tsx that answers messages over Node's IPC channel (advanced
 * serialization): the m2m suite's channel peers (bench/lib/m2m-peers.ts) and SDK devices
 * (bench/suites/m2m-sdk.ts). Answers are matched to waiters by `kind`; an `error` answer or the
 * child's exit fails every waiter. Under `IOTGUARD_M2M_CPU_PROF=<dir>` the child runs with
 * `--cpu-prof` and writes `m2m-<name>.cpuprofile` there when it stops.
 * @module
 */
import { type ChildProcess, fork } from "node:child_process";
import { resolve } from "node:path";
import { REPO_ROOT } from "../../testkit/build";
import { stopped } from "../../testkit/spawn";

type Answer = { kind: string } | { kind: "error"; message: string };

export class IpcPeer<To extends { kind: string }, From extends Answer> {
  readonly child: ChildProcess;
  #waiters: Array<{ kind: string; resolve: (m: From) => void; reject: (e: Error) => void }> = [];
  #exited = false;

  /**
   * @param script - the child's entry point, relative to the repository
   * @param name - names its errors and its CPU profile
   */
  constructor(script: string, name: string) {
    const execArgv = ["--import", "tsx"];
    const profileDir = process.env.IOTGUARD_M2M_CPU_PROF || undefined;
    if (profileDir)
      execArgv.push("--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `m2m-${name}.cpuprofile`);
    this.child = fork(resolve(REPO_ROOT, script), [], {
      cwd: REPO_ROOT,
      execArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: From) => {
      if (m.kind === "error") {
        const message = (m as { message?: string }).message;
        for (const w of this.#waiters.splice(0)) w.reject(new Error(`${name}: ${message}`));
        return;
      }
      const i = this.#waiters.findIndex((w) => w.kind === m.kind);
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m);
    });
    this.child.once("exit", (code, signal) => {
      this.#exited = true;
      for (const w of this.#waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal})`));
    });
  }

  send(message: To): void {
    this.child.send(message);
  }

  /** The next answer of `kind`. */
  next<K extends From["kind"]>(kind: K): Promise<Extract<From, { kind: K }>> {
    if (this.#exited) return Promise.reject(new Error("the peer has exited"));
    return new Promise((resolvePromise, reject) =>
      this.#waiters.push({ kind, resolve: resolvePromise as (m: From) => void, reject }),
    );
  }

  /** Sends `message` and waits for its answer of `kind`. */
  ask<K extends From["kind"]>(message: To, kind: K): Promise<Extract<From, { kind: K }>> {
    const answer = this.next(kind);
    this.send(message);
    return answer;
  }

  /** Sends `stop` (so a CPU profile gets written) and waits for the exit; kills it after 10 s. */
  async stop(stop: To): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.send(stop);
    const timer = setTimeout(() => void stopped(this.child), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
