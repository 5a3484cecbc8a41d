/**
 * The `iotguard` CLI on a broker over TLS: real CLI processes, a real chain and head, and a private
 * Mosquitto whose TLS listener requires client certificates (made by openssl in a temp directory).
 * `--broker-ca`, `--broker-cert` and `--broker-key` (or their environment variables) reach it; the
 * wrong CA is `E_BROKER_TLS`; plaintext MQTT to another machine is refused unless allowed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateMosquitto, startPrivateMosquitto } from "../../testkit/brokers";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { JsonLines, runCli, spawnCli } from "../../testkit/cli";
import { joinedDevice } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";
import { makeTestPki, type TestPki } from "../../testkit/pki";

/** The CLI's own stderr lines, without the launcher's note when it rebuilt dist/ first (sources edited meanwhile). */
const errorLines = (stderr: string): string[] =>
  stderr
    .trim()
    .split("\n")
    .filter((line) => !line.startsWith("build: "));

const dir = mkdtempSync(join(tmpdir(), "iotguard-cli-broker-tls-"));
let pki: TestPki;
let mosquitto: PrivateMosquitto;
let chain: TestChain;
let head: TestHead;
const dirA = join(dir, "a");
const dirB = join(dir, "b");
let b: string;

beforeAll(async () => {
  pki = makeTestPki(dir);
  mosquitto = await startPrivateMosquitto({
    tls: { caFile: pki.caCert, certFile: pki.headCert, keyFile: pki.headKey, requireCertificate: true },
  });
  chain = await startTestChain();
  head = await startTestHead(chain, {
    brokerUrl: mosquitto.url,
    brokerCa: pki.caCert,
    brokerCert: pki.clientCert,
    brokerKey: pki.clientKey,
    topicPrefix: `cli-tls-${process.pid}`,
  });
  // Identities and memberships through the SDK (the join does not touch the broker); the CLI then
  // opens the same data directories.
  const devices = await Promise.all([
    joinedDevice(head, { dataDir: dirA }),
    joinedDevice(head, { dataDir: dirB }),
  ]);
  b = devices[1].deviceId;
  await Promise.all(devices.map((d) => d.close()));
}, 90_000);
afterAll(async () => {
  await head?.destroy();
  await chain?.stop();
  await mosquitto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const tlsFlags = () => [
  "--broker-ca",
  pki.caCert,
  "--broker-cert",
  pki.clientCert,
  "--broker-key",
  pki.clientKey,
];

describe("the CLI over mqtts", () => {
  it("`device listen` with the TLS flags prints what `device send` sent with the TLS environment variables", async () => {
    const listener = spawnCli(["device", "listen", "--json", "--data-dir", dirB, ...tlsFlags()]);
    const exited = new Promise<number | null>((r) => listener.once("exit", r));
    const out = new JsonLines(listener);
    try {
      // Generous: the launcher may first rebuild dist/ when sources changed since.
      await out.waitFor((l) => l.event === "ready", "the listener to be ready", 60_000);
      const sent = await runCli(
        ["device", "send", "--json", "--data-dir", dirA, "--to", b, "hello over tls"],
        {
          IOTGUARD_BROKER_CA: pki.caCert,
          IOTGUARD_BROKER_CERT: pki.clientCert,
          IOTGUARD_BROKER_KEY: pki.clientKey,
        },
      );
      expect(sent.code, sent.stderr).toBe(0);
      await out.waitFor((l) => l.event === "message" && l.text === "hello over tls", "the message");
    } finally {
      listener.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 90_000);

  it("exits 2 with E_BROKER_TLS when the broker's certificate is not from the CA given", async () => {
    const r = await runCli([
      "device",
      "send",
      "--data-dir",
      dirA,
      "--to",
      b,
      "--broker-ca",
      pki.otherCaCert,
      "--broker-cert",
      pki.clientCert,
      "--broker-key",
      pki.clientKey,
      "x",
    ]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(
      /^error E_BROKER_TLS: TLS with mqtts:\/\/127\.0\.0\.1:\d+ failed: .*not issued by a trusted CA/,
    );
  }, 90_000);

  it("exits 2 naming --broker-key when the client key is readable by others", async () => {
    const r = await runCli([
      "device",
      "listen",
      "--data-dir",
      dirA,
      "--broker-cert",
      pki.clientCert,
      "--broker-key",
      pki.caCert, // mode 0644
    ]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr).join("\n")).toMatch(/^error E_BAD_ARGUMENT: --broker-key .* chmod 600/);
  }, 90_000);
});

describe("the CLI and plaintext MQTT to another machine", () => {
  it("refuses `--broker-url mqtt://10.1.2.3:1883` with one line naming --allow-plain-mqtt", async () => {
    const r = await runCli([
      "device",
      "listen",
      "--data-dir",
      dirA,
      "--broker-url",
      "mqtt://u:hunter2-cli@10.1.2.3:1883",
    ]);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(errorLines(r.stderr)[0]).toMatch(
      /^error E_PLAINTEXT_BROKER: mqtt:\/\/10\.1\.2\.3:1883 is plaintext MQTT .*every topic name would cross the network in clear.*--allow-plain-mqtt/,
    );
    expect(r.stderr).not.toContain("hunter2-cli");
  }, 90_000);

  it("goes on with --allow-plain-mqtt (and then finds no broker there)", async () => {
    const r = await runCli([
      "device",
      "listen",
      "--data-dir",
      dirA,
      "--broker-url",
      "mqtt://10.1.2.3:1883",
      "--allow-plain-mqtt",
    ]);
    expect(r.stderr).not.toMatch(/E_PLAINTEXT_BROKER/);
    expect(errorLines(r.stderr)[0]).toMatch(/^error E_BROKER_UNREACHABLE/);
    expect(r.code).toBe(3);
  }, 90_000);
});
