/**
 * A private Mosquitto with the dynamic-security plugin, for tests and benchmarks that need the
 * production broker set-up (docs/mqtt.md § Mosquitto): a free 127.0.0.1 port, a temp directory
 * with a generated config (no anonymous clients, no retained messages), a dynsec file bootstrapped
 * with `mosquitto_ctrl dynsec init` and the admin credential in a 0600 file the head reads
 * (`--broker-admin-file`). It can be SIGKILLed and restarted on the same port with its dynsec file.
 * The machine's own Mosquitto on 1883 is never touched.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../platform/free-port";
import { canConnect, type MosquittoTls, mosquittoTlsLines } from "./brokers";
import { signalled } from "./spawn";
import { waitUntil } from "./wait";

/** Where Debian's `mosquitto` package puts the plugin. */
export const DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

const INSTALL_HINT =
  "install Mosquitto ≥ 2.0 with its dynamic-security plugin and mosquitto_ctrl: `apt-get install mosquitto mosquitto-clients`; these tests never skip";

export interface DynsecMosquittoOptions {
  /** Admin user created by `mosquitto_ctrl dynsec init`; default `iotguard-admin`. */
  adminUsername?: string;
  /** Adds a TLS listener on a second free port with these files (`tlsUrl`). */
  tls?: MosquittoTls;
  /** `max_queued_messages`; default 100,000 (Mosquitto's own 1000 cuts QoS 1 bursts). */
  maxQueuedMessages?: number;
  /** Extra config lines, appended as they are. */
  extraConfig?: string[];
}

/** A running private Mosquitto with dynamic security. */
export interface DynsecMosquitto {
  readonly port: number;
  /** `mqtt://127.0.0.1:<port>` (plain listener, loopback). */
  readonly url: string;
  /** The TLS listener's port and `mqtts://127.0.0.1:<port>` URL, when `tls` was given. */
  readonly tlsPort: number | undefined;
  readonly tlsUrl: string | undefined;
  readonly dir: string;
  /** The dynsec JSON file (kept across restarts). */
  readonly dynsecFile: string;
  /** `username:password` of the admin, mode 0600: what `--broker-admin-file` names. */
  readonly adminFile: string;
  readonly admin: { username: string; password: string };
  /** The running process's pid. @throws when it is not running */
  readonly pid: number;
  /** SIGKILL and wait for the exit (the dynsec file stays as last saved: Mosquitto saves it on every change). */
  kill(): Promise<void>;
  /** Start again on the same port(s) with the same config and dynsec file; resolves when it accepts TCP. */
  start(): Promise<void>;
  /** Kill and delete the temp directory. */
  stop(): Promise<void>;
}

/** Fails with how to install when a binary or the plugin is missing. */
export function requireDynsecMosquitto(): void {
  for (const binary of ["mosquitto", "mosquitto_ctrl"]) {
    if (spawnSync(binary, ["--help"]).error) throw new Error(`${binary} not found: ${INSTALL_HINT}`);
  }
  if (!existsSync(DYNSEC_PLUGIN)) throw new Error(`${DYNSEC_PLUGIN} not found: ${INSTALL_HINT}`);
}

/**
 * Starts `mosquitto -c <temp config>` with dynamic security on a free port.
 * @throws Error with Mosquitto's output when it does not start; nothing is left running or on disk
 */
export async function startDynsecMosquitto(options: DynsecMosquittoOptions = {}): Promise<DynsecMosquitto> {
  requireDynsecMosquitto();
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), "iotguard-dynsec-"));
  // Started as root, mosquitto drops to the `mosquitto` user, which rewrites the dynsec file (via a
  // temp file beside it) on every change: it needs the directory and the file.
  chmodSync(dir, 0o777);
  const dynsecFile = join(dir, "dynamic-security.json");
  const adminFile = join(dir, "broker-admin");
  const admin = {
    username: options.adminUsername ?? "iotguard-admin",
    password: randomBytes(24).toString("hex"),
  };
  let child: ChildProcess | undefined;
  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc) await signalled(proc, "SIGKILL");
  };
  const stop = async (): Promise<void> => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The password goes on stdin (asked twice), never on a command line that `ps` shows.
    const init = spawnSync("mosquitto_ctrl", ["dynsec", "init", dynsecFile, admin.username], {
      input: `${admin.password}\n${admin.password}\n`,
      encoding: "utf8",
    });
    if (init.status !== 0 || !existsSync(dynsecFile))
      throw new Error(`mosquitto_ctrl dynsec init failed (${init.status}): ${init.stderr}${init.stdout}`);
    chmodSync(dynsecFile, 0o666);
    writeFileSync(adminFile, `${admin.username}:${admin.password}\n`, { mode: 0o600 });
    const config = join(dir, "mosquitto.conf");
    writeFileSync(config, mosquittoConfig({ port, tlsPort, dynsecFile, dir, ...options }));
    const start = async (): Promise<void> => {
      const proc = spawn("mosquitto", ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      child = proc;
      try {
        await waitUntil(async () => {
          if (proc.exitCode !== null)
            throw new Error(`private mosquitto (dynsec) exited (${proc.exitCode}): ${stderr}`);
          return (
            (await canConnect("127.0.0.1", port, 200)) &&
            (tlsPort === undefined || (await canConnect("127.0.0.1", tlsPort, 200)))
          );
        }, `private mosquitto (dynsec) on port ${port}`);
      } catch (error) {
        await kill();
        throw error;
      }
    };
    await start();
    return {
      port,
      url: `mqtt://127.0.0.1:${port}`,
      tlsPort,
      tlsUrl: tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`,
      dir,
      dynsecFile,
      adminFile,
      admin,
      get pid() {
        if (child?.pid === undefined) throw new Error("the private mosquitto is not running");
        return child.pid;
      },
      kill,
      start,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The broker config of docs/mqtt.md § Mosquitto, on loopback ports. */
function mosquittoConfig(
  o: DynsecMosquittoOptions & { port: number; tlsPort?: number; dynsecFile: string; dir: string },
): string {
  return [
    "per_listener_settings false",
    "allow_anonymous false",
    // Retained messages cannot be refused by an ACL: the broker refuses them all.
    "retain_available false",
    `plugin ${DYNSEC_PLUGIN}`,
    `plugin_opt_config_file ${o.dynsecFile}`,
    `max_queued_messages ${o.maxQueuedMessages ?? 100_000}`,
    "max_inflight_messages 0",
    "persistence false",
    "log_dest stderr",
    "log_type error",
    `listener ${o.port} 127.0.0.1`,
    ...(o.tls && o.tlsPort !== undefined
      ? [`listener ${o.tlsPort} 127.0.0.1`, ...mosquittoTlsLines(o.tls, o.dir)]
      : []),
    ...(o.extraConfig ?? []),
    "",
  ].join("\n");
}
