/**
 * Broker fixtures for the MQTT tests: the machine's Mosquitto on 127.0.0.1:1883 (required, never
 * skipped), a private Mosquitto on a free port that a test may SIGKILL and restart, waiting helpers.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../platform/free-port";

export const MACHINE_MOSQUITTO = { host: "127.0.0.1", port: 1883 } as const;

const START_HINT =
  "start it with `mosquitto -d -c /etc/mosquitto/mosquitto.conf` (install with `apt-get install mosquitto`); these tests never skip";

/** A topic prefix unique to this run, so runs against the shared Mosquitto never collide. */
export function randomPrefix(): string {
  return `iotguard-test-${randomBytes(6).toString("hex")}`;
}

/** A random 32-byte device ID as 64 lowercase hex. */
export function randomDeviceId(): string {
  return randomBytes(32).toString("hex");
}

/** Resolves when a TCP connection to host:port succeeds, false after `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Throws with a how-to-start message when the machine's Mosquitto is unreachable. */
export async function requireMachineMosquitto(): Promise<void> {
  if (!(await canConnect(MACHINE_MOSQUITTO.host, MACHINE_MOSQUITTO.port))) {
    throw new Error(`Mosquitto is not reachable on 127.0.0.1:1883: ${START_HINT}`);
  }
}

/** Polls `cond` every 10 ms until true; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A private Mosquitto process on a free port that can be killed and restarted on the same port. */
export interface PrivateMosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGKILL (no chance to save anything) and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same port with the same config; resolves when it accepts TCP. */
  start(): Promise<void>;
  /** SIGUSR1: Mosquitto writes its persistence database (mosquitto(8), SIGNALS). */
  savePersistence(): void;
  /** Kill and delete the temp directory. */
  stop(): Promise<void>;
}

/**
 * Starts `mosquitto -c <temp config>` on a free 127.0.0.1 port.
 * @param persistence when true, sessions are stored in the temp directory (saved on SIGUSR1)
 */
export async function startPrivateMosquitto(persistence = false): Promise<PrivateMosquitto> {
  if (spawnSync("mosquitto", ["-h"]).error) throw new Error(`mosquitto binary not found: ${START_HINT}`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "iotguard-mosquitto-"));
  // Started as root, mosquitto drops to the `mosquitto` user, which must be able to write the database.
  chmodSync(dir, 0o777);
  const config = join(dir, "mosquitto.conf");
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      `persistence ${persistence}`,
      ...(persistence ? [`persistence_location ${dir}/`, "autosave_interval 3600"] : []),
      "max_queued_messages 100000",
      "max_inflight_messages 0",
      "log_dest none",
      "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const proc = spawn("mosquitto", ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child = proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`private mosquitto exited (${proc.exitCode}): ${stderr}`);
      return canConnect("127.0.0.1", port, 200);
    }, `private mosquitto on port ${port}`);
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    kill,
    start,
    savePersistence: () => child?.kill("SIGUSR1"),
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
