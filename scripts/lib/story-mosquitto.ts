/**
 * A private Mosquitto for `npm start -- --broker mosquitto`: the production set-up of docs/mqtt.md
 * § Mosquitto on this machine only. A test CA and a server certificate for 127.0.0.1 (openssl), a
 * dynsec file bootstrapped with `mosquitto_ctrl dynsec init` (password on stdin), the admin
 * credential in a 0600 file for `--broker-admin-file`, one TLS listener on a free loopback port,
 * everything in one temp directory removed by `stop()`. Stopped by PID; the machine's own Mosquitto is
 * never touched. (The tests' launcher is testkit/mosquitto-dynsec.ts, which scripts may not import.)
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../platform/free-port";

/** Where Debian's `mosquitto` package puts the dynamic-security plugin. */
const DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";

export const MOSQUITTO_INSTALL_HINT =
  "install Mosquitto ≥ 2.0 with its dynamic-security plugin and mosquitto_ctrl, and openssl: `sudo apt-get install mosquitto mosquitto-clients openssl` (Debian, Ubuntu)";

export interface StoryMosquitto {
  /** `mqtts://127.0.0.1:<port>`. */
  url: string;
  /** The CA file that issued the broker's certificate (`--broker-ca`). */
  caFile: string;
  /** `username:password`, mode 0600 (`--broker-admin-file`). */
  adminFile: string;
  /** The admin's user name and password, for an auditor's connection. Secret. */
  admin: { username: string; password: string };
  pid: number;
  /** Stops the broker and deletes its directory. */
  stop(): Promise<void>;
}

/** What is missing to run the story on Mosquitto, or undefined when everything is there. */
export function missingForMosquitto(): string | undefined {
  for (const binary of ["mosquitto", "mosquitto_ctrl", "openssl"])
    if (spawnSync(binary, ["--help"]).error) return `${binary} not found`;
  if (!existsSync(DYNSEC_PLUGIN)) return `${DYNSEC_PLUGIN} not found`;
  return undefined;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA and a server certificate for 127.0.0.1 issued by it (EC P-256, one day). */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"];
  openssl(
    ["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=iotguard story CA"],
    dir,
  );
  writeFileSync(
    join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  openssl(
    ["req", ...ec.slice(0, -2), "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
    dir,
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "1",
      "-extfile",
      "server.ext",
    ],
    dir,
  );
  chmodSync(join(dir, "ca.key"), 0o600);
  chmodSync(join(dir, "server.key"), 0o600);
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

/** The `mosquitto` user, which the broker drops to when started as root. */
function mosquittoUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync("id", ["-u", "mosquitto"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "mosquitto"], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Starts the private broker in a new temp directory.
 * @throws Error naming what is missing (with {@link MOSQUITTO_INSTALL_HINT}) or Mosquitto's output;
 *   nothing is left running or on disk
 */
export async function startStoryMosquitto(): Promise<StoryMosquitto> {
  const missing = missingForMosquitto();
  if (missing) throw new Error(`${missing}: ${MOSQUITTO_INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), "iotguard-story-mosquitto-"));
  try {
    return await startIn(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dir: string): Promise<StoryMosquitto> {
  // Started as root, mosquitto drops to its own user, which must read the files and rewrite the
  // dynsec file (through a temp file beside it).
  chmodSync(dir, 0o755);
  const owner = mosquittoUser();
  const tls = makeCertificates(dir);
  if (owner) chownSync(tls.key, owner.uid, owner.gid);
  const dynsecFile = join(dir, "dynamic-security.json");
  const admin = { username: "iotguard-admin", password: randomBytes(24).toString("hex") };
  const init = spawnSync("mosquitto_ctrl", ["dynsec", "init", dynsecFile, admin.username], {
    input: `${admin.password}\n${admin.password}\n`,
    encoding: "utf8",
  });
  if (init.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${init.stderr}${init.stdout}`);
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(dynsecFile, owner.uid, owner.gid);
  }
  chmodSync(dynsecFile, 0o600);
  const adminFile = join(dir, "broker-admin");
  writeFileSync(adminFile, `${admin.username}:${admin.password}\n`, { mode: 0o600 });

  const port = await freePort();
  const config = join(dir, "mosquitto.conf");
  writeFileSync(
    config,
    [
      "per_listener_settings false",
      "allow_anonymous false",
      "retain_available false",
      "max_packet_size 1048576",
      `plugin ${DYNSEC_PLUGIN}`,
      `plugin_opt_config_file ${dynsecFile}`,
      "persistence false",
      "log_dest stderr",
      "log_type error",
      `listener ${port} 127.0.0.1`,
      `cafile ${tls.ca}`,
      `certfile ${tls.cert}`,
      `keyfile ${tls.key}`,
      "set_tcp_nodelay true",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("mosquitto", ["-c", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not start on 127.0.0.1:${port}: ${stderr.trim() || "no output"}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `mqtts://127.0.0.1:${port}`, caFile: tls.ca, adminFile, admin, pid: child.pid!, stop };
}
