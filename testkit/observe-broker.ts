/**
 * A curious broker observer: a real external MQTT client (`mosquitto_sub`, Debian
 * mosquitto-clients) subscribed to a topic filter, recording its raw output. Tests use it to show
 * that a broker (or anyone allowed to subscribe) sees only ciphertext.
 */
import { spawn, spawnSync } from "node:child_process";

export interface BrokerObservation {
  /** The raw output so far (to wait for an expected frame without sleeping). */
  output(): Buffer[];
  /**
   * Stops `mosquitto_sub` and returns every chunk it printed: `-v` message lines ("topic payload")
   * and its `-d` protocol debug lines (which name topics and sizes, never payloads).
   */
  stop(): Promise<Buffer[]>;
}

const INSTALL_HINT = "mosquitto_sub not found: install it with `apt-get install mosquitto-clients`";

/**
 * Spawns `mosquitto_sub -h host -p port -t topicFilter -v -V mqttv311 -q 1` and resolves once it is subscribed.
 * @throws Error with an install hint when `mosquitto_sub` is missing, or when it exits early
 *   (e.g. the broker refused it)
 */
export async function observeWithMosquittoSub(
  host: string,
  port: number,
  topicFilter: string,
): Promise<BrokerObservation> {
  if (spawnSync("mosquitto_sub", ["--help"]).error) throw new Error(INSTALL_HINT);
  // -d prints protocol debug lines on stdout; SUBACK among them tells us the subscription is live.
  // stdbuf -oL: mosquitto_sub's stdout is block-buffered on a pipe, which would hide SUBACK and frames.
  const proc = spawn(
    "stdbuf",
    [
      "-oL",
      "mosquitto_sub",
      "-h",
      host,
      "-p",
      String(port),
      "-t",
      topicFilter,
      "-v",
      "-q",
      "1",
      "-V",
      "mqttv311",
      "-d",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const chunks: Buffer[] = [];
  let stderr = "";
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const onData = (d: Buffer): void => {
      chunks.push(d);
      seen += d.toString("latin1");
      if (seen.includes("received SUBACK")) resolve();
    };
    proc.stdout.on("data", onData);
    proc.once("error", (err) => reject(new Error(`${INSTALL_HINT} (${err.message})`)));
    proc.once("exit", (code) => reject(new Error(`mosquitto_sub exited early (${code}): ${stderr}`)));
    setTimeout(
      () => reject(new Error(`mosquitto_sub did not subscribe within 10 s: ${stderr}`)),
      10_000,
    ).unref();
  });
  return {
    output: () => [...chunks],
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      return chunks;
    },
  };
}
