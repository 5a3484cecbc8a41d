/**
 * Broker fixtures for the MQTT tests: the machine's Mosquitto on 127.0.0.1:1883 (required, never
 * skipped), a private Mosquitto on a free port that a test may SIGKILL and restart (the bench's
 * Mosquitto too, with its limits raised), waiting helpers.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../platform/free-port";
import { signalled } from "./spawn";
import { waitUntil } from "./wait";

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

/** Polls `cond` every 10 ms until it holds; throws naming `what` after `timeoutMs`. */
export { waitUntil as waitFor } from "./wait";

/** A private Mosquitto process on a free port that can be killed and restarted on the same port. */
export interface PrivateMosquitto {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** The running process's pid, for /proc sampling. @throws when it is not running */
  readonly pid: number;
  /** SIGKILL (no chance to save anything) and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same port with the same config; resolves when it accepts TCP. */
  start(): Promise<void>;
  /** SIGUSR1: Mosquitto writes its persistence database (mosquitto(8), SIGNALS). */
  savePersistence(): void;
  /** Kill and delete the temp directory. */
  stop(): Promise<void>;
}

export interface PrivateMosquittoOptions {
  /** Sessions stored in the temp directory (saved on SIGUSR1); default false. */
  persistence?: boolean;
  /** `max_queued_messages`; default 100,000 (Mosquitto's own 1000 cuts QoS 1 bursts). */
  maxQueuedMessages?: number;
  /** `max_packet_size` in bytes; default Mosquitto's (none). */
  maxPacketSize?: number;
  /** A TLS listener instead of plain TCP; the URL is then `mqtts://127.0.0.1:<port>`. */
  tls?: MosquittoTls;
  /** `set_tcp_nodelay true` (docs/mqtt.md); a TLS listener always has it. Default false. */
  tcpNoDelay?: boolean;
}

/** The TLS listener of a private Mosquitto (mosquitto.conf(5) § Certificate based SSL/TLS support). */
export interface MosquittoTls {
  /** PEM CA file: the CA clients' certificates must be issued by (`cafile`). */
  caFile: string;
  /** PEM server certificate and key (`certfile`, `keyfile`). */
  certFile: string;
  keyFile: string;
  /** `require_certificate true`: a client without a certificate from `caFile` is refused. */
  requireCertificate?: boolean;
}

/**
 * The config lines of a TLS listener, with copies of the files in `dir` that the broker can read:
 * started as root, Mosquitto drops to the `mosquitto` user before it loads them, and a 0600 key
 * owned by root would be refused. For any private Mosquitto launcher (this one, dynsec's).
 */
export function mosquittoTlsLines(tls: MosquittoTls, dir: string): string[] {
  const owner = process.getuid?.() === 0 ? mosquittoUser() : undefined;
  const copy = (from: string, name: string): string => {
    const to = join(dir, name);
    copyFileSync(from, to);
    chmodSync(to, name.endsWith(".key") ? 0o600 : 0o644);
    if (owner) chownSync(to, owner.uid, owner.gid);
    return to;
  };
  return [
    `cafile ${copy(tls.caFile, "tls-ca.pem")}`,
    `certfile ${copy(tls.certFile, "tls-server.pem")}`,
    `keyfile ${copy(tls.keyFile, "tls-server.key")}`,
    `require_certificate ${tls.requireCertificate ?? false}`,
    // Without it Nagle holds the CONNACK behind the TLS session tickets until the client's delayed
    // ACK: measured ~50 ms per mqtts connect here, ~3.5 ms with it (a global option; repeating it is harmless).
    "set_tcp_nodelay true",
  ];
}

function mosquittoUser(): { uid: number; gid: number } | undefined {
  const uid = spawnSync("id", ["-u", "mosquitto"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "mosquitto"], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Starts `mosquitto -c <temp config>` on a free 127.0.0.1 port, with no in-flight limit.
 * @throws Error with Mosquitto's stderr when it does not start; nothing is left running or on disk
 */
export async function startPrivateMosquitto(
  options: PrivateMosquittoOptions = {},
): Promise<PrivateMosquitto> {
  if (spawnSync("mosquitto", ["-h"]).error) throw new Error(`mosquitto binary not found: ${START_HINT}`);
  const persistence = options.persistence ?? false;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "iotguard-mosquitto-"));
  // Started as root, mosquitto drops to the `mosquitto` user, which must be able to write the database.
  chmodSync(dir, 0o777);
  const config = join(dir, "mosquitto.conf");
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      ...(options.tls ? mosquittoTlsLines(options.tls, dir) : []),
      ...(options.tcpNoDelay && !options.tls ? ["set_tcp_nodelay true"] : []),
      "allow_anonymous true",
      `persistence ${persistence}`,
      ...(persistence ? [`persistence_location ${dir}/`, "autosave_interval 3600"] : []),
      `max_queued_messages ${options.maxQueuedMessages ?? 100_000}`,
      "max_inflight_messages 0",
      ...(options.maxPacketSize === undefined ? [] : [`max_packet_size ${options.maxPacketSize}`]),
      "log_dest none",
      "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc) await signalled(proc, "SIGKILL");
  };
  const start = async (): Promise<void> => {
    const proc = spawn("mosquitto", ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child = proc;
    try {
      await waitUntil(async () => {
        if (proc.exitCode !== null) throw new Error(`private mosquitto exited (${proc.exitCode}): ${stderr}`);
        return canConnect("127.0.0.1", port, 200);
      }, `private mosquitto on port ${port}`);
    } catch (error) {
      await kill();
      throw error;
    }
  };
  const stop = async (): Promise<void> => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    url: `${options.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    dir,
    get pid() {
      if (child?.pid === undefined) throw new Error("the private mosquitto is not running");
      return child.pid;
    },
    kill,
    start,
    savePersistence: () => child?.kill("SIGUSR1"),
    stop,
  };
}
