/**
 * The head and its devices on an external broker over TLS (services/cluster-head/broker/broker-tls.ts):
 * a private Mosquitto with a TLS listener that requires client certificates (certificates made by
 * openssl into a temp directory), a real chain and head, real devices; and the refusal to start
 * with plaintext MQTT to another machine unless `--allow-plain-mqtt` says so.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../../device/sdk";
import { loadBrokerTls } from "../../../services/cluster-head/broker/broker-tls";
import { loadConfig } from "../../../services/cluster-head/config";
import { HeadStartError, startClusterHead } from "../../../services/cluster-head/head";
import { type PrivateMosquitto, startPrivateMosquitto } from "../../../testkit/brokers";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { joinedDevice, nextEvent } from "../../../testkit/device";
import { startTestHead, type TestHead } from "../../../testkit/head";
import { makeTestPki, type TestPki } from "../../../testkit/pki";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "iotguard-head-broker-tls-"));
let pki: TestPki;
const pem = (path: string) => readFileSync(path, "utf8");

beforeAll(() => {
  pki = makeTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the head's CLI as an operator does; resolves with its exit code and stderr. */
async function headCli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("IOTGUARD_")) delete env[name];
  try {
    const { stderr } = await run(
      process.execPath,
      ["--import", "tsx", "services/cluster-head/main.ts", ...args],
      {
        cwd: ROOT,
        env,
        timeout: 30_000,
      },
    );
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe("plaintext MQTT off loopback", () => {
  it("the head refuses to start with one line naming --allow-plain-mqtt and why", async () => {
    const { code, stderr } = await headCli(
      "--broker-url",
      "mqtt://head:hunter2-plain@10.1.2.3:1883",
      "--data-dir",
      join(dir, "never"),
    );
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(
      /^cluster-head: E_PLAINTEXT_BROKER: --broker-url mqtt:\/\/10\.1\.2\.3:1883 is plaintext MQTT .*the broker credential and every topic name would cross the network in clear.*--allow-plain-mqtt/,
    );
    expect(stderr).not.toContain("hunter2-plain");
  }, 30_000);

  it("with --allow-plain-mqtt the head goes on starting (and stops later, at the missing deployment)", async () => {
    const config = loadConfig(
      {
        brokerUrl: "mqtt://10.1.2.3:1883",
        allowPlainMqtt: "true",
        dataDir: join(dir, "allowed"),
        deploymentFile: join(dir, "no-such-deployment.json"),
      },
      {},
    );
    const error = (await startClusterHead(config).then(
      async (head) => {
        await head.stop();
        throw new Error("started without a deployment file");
      },
      (e: unknown) => e,
    )) as Error;
    expect(error.message).not.toMatch(/E_PLAINTEXT_BROKER/);
    expect(error.message).toMatch(/no deployment file/);
  });

  it.each([
    ["mqtt://127.0.0.1:1883", {}],
    ["mqtt://localhost:1883", {}],
    ["mqtts://10.1.2.3:8883", {}],
    ["mqtt://10.1.2.3:1883", { allowPlainMqtt: "true" }],
  ])("allows %s %o", (brokerUrl, more) => {
    expect(() => loadBrokerTls(loadConfig({ brokerUrl, ...more }, {}))).not.toThrow();
  });

  it("never echoes a broker URL's password, also when the URL is refused as a setting or as a broker URL", async () => {
    expect(() => loadConfig({ brokerUrl: "mqtt://u:hunter2-cfg@h:99999" }, {})).toThrow(/--broker-url/);
    expect(() => loadConfig({ brokerUrl: "mqtt://u:hunter2-cfg@h:99999" }, {})).not.toThrow(/hunter2-cfg/);
    const config = loadConfig({ brokerUrl: "notmqtt:hunter2-cfg", dataDir: join(dir, "never-3") }, {});
    const error = (await startClusterHead(config).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/broker URL: expected mqtt:\/\//);
    expect(error.message).not.toContain("hunter2-cfg");
  });

  it("refuses broker TLS files with a plaintext URL or with the embedded broker", () => {
    expect(() =>
      loadBrokerTls(loadConfig({ brokerUrl: "mqtt://127.0.0.1:1883", brokerCa: pki.caCert }, {})),
    ).toThrow(/--broker-ca, --broker-cert and --broker-key need an mqtts:\/\/ --broker-url/);
    expect(() => loadBrokerTls(loadConfig({ brokerCa: pki.caCert }, {}))).toThrow(/embedded broker/);
  });

  it("refuses a client key other users can read before anything starts", async () => {
    const config = loadConfig(
      {
        brokerUrl: "mqtts://127.0.0.1:8883",
        brokerCert: pki.clientCert,
        brokerKey: pki.caCert, // mode 0644: a certificate file, not a private key
        dataDir: join(dir, "never-2"),
      },
      {},
    );
    await expect(startClusterHead(config)).rejects.toThrow(HeadStartError);
    await expect(startClusterHead(config)).rejects.toThrow(/E_BAD_ARGUMENT: --broker-key .* chmod 600/);
  });
});

describe("the head and devices over mqtts (Mosquitto requiring client certificates)", () => {
  let chain: TestChain;
  let mosquitto: PrivateMosquitto;
  let head: TestHead;
  const devices: Device[] = [];
  const deviceTls = () => ({ ca: pem(pki.caCert), cert: pem(pki.clientCert), key: pem(pki.clientKey) });

  beforeAll(async () => {
    mosquitto = await startPrivateMosquitto({
      tls: { caFile: pki.caCert, certFile: pki.headCert, keyFile: pki.headKey, requireCertificate: true },
    });
    chain = await startTestChain();
    head = await startTestHead(chain, {
      brokerUrl: mosquitto.url,
      brokerCa: pki.caCert,
      brokerCert: pki.clientCert,
      brokerKey: pki.clientKey,
      topicPrefix: `tls-${process.pid}`,
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await head?.destroy();
    await chain?.stop();
    await mosquitto?.stop();
  });

  it("connects the head with its client certificate, and two devices talk through the TLS broker", async () => {
    expect(head.broker.status().up).toBe(true);
    expect(head.brokerUrl).toBe(mosquitto.url);
    const [a, b] = await Promise.all([
      joinedDevice(head, { brokerTls: deviceTls() }),
      joinedDevice(head, { brokerTls: deviceTls() }),
    ]);
    devices.push(a!, b!);
    await Promise.all([a!.connect(), b!.connect()]);
    const got = nextEvent<{ data: Uint8Array }>(b!, "message");
    await a!.send(b!.deviceId, "hello over tls");
    expect(new TextDecoder().decode((await got).data)).toBe("hello over tls");
  }, 60_000);

  it("refuses to start a head that trusts another CA for the broker, fast, with the reason", async () => {
    const started = performance.now();
    const error = await startTestHead(chain, {
      brokerUrl: mosquitto.url,
      brokerCa: pki.otherCaCert,
      brokerCert: pki.clientCert,
      brokerKey: pki.clientKey,
      clusterId: "2",
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(HeadStartError);
    expect((error as Error).message).toMatch(
      /cannot start MQTT .*TLS with mqtts:.* not issued by a trusted CA/,
    );
    expect(performance.now() - started).toBeLessThan(15_000);
  }, 30_000);

  it("a device without a client certificate is refused with E_BROKER_TLS, not a timeout", async () => {
    const device = await joinedDevice(head, { brokerTls: { ca: pem(pki.caCert) } });
    devices.push(device);
    const started = performance.now();
    await expect(device.connect()).rejects.toMatchObject({ code: "E_BROKER_TLS" });
    expect(performance.now() - started).toBeLessThan(2000);
  }, 30_000);
});
