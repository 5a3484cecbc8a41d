/**
 * `mqtts://` against real Mosquitto TLS listeners (private instances on free ports, certificates
 * made by openssl into a temp directory): the broker's certificate and host name are checked, a
 * failed handshake is a typed `E_BROKER_TLS` at once (not a connect timeout), and a listener that
 * requires a client certificate admits only a client that has one.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrokerTls } from "../../../transport/mqtt/broker-tls";
import { MqttTransport } from "../../../transport/mqtt/client";
import { MqttTransportError } from "../../../transport/mqtt/errors";
import { inboxTopic } from "../../../transport/mqtt/topics";
import {
  type MosquittoTls,
  type PrivateMosquitto,
  randomDeviceId,
  randomPrefix,
  startPrivateMosquitto,
} from "../../../testkit/brokers";
import { makeTestPki, type TestPki } from "../../../testkit/pki";

const dir = mkdtempSync(join(tmpdir(), "iotguard-mqtt-tls-"));
let pki: TestPki;
const brokers: PrivateMosquitto[] = [];
const open: MqttTransport[] = [];
/** A failed handshake must be reported well before the 10 s connect timeout. */
const FAST_MS = 2000;

const pem = (path: string): string => readFileSync(path, "utf8");

async function broker(tls: Partial<MosquittoTls> = {}): Promise<PrivateMosquitto> {
  const b = await startPrivateMosquitto({
    tls: { caFile: pki.caCert, certFile: pki.headCert, keyFile: pki.headKey, ...tls },
  });
  brokers.push(b);
  return b;
}

async function connect(url: string, tls: BrokerTls): Promise<MqttTransport> {
  const t = await MqttTransport.connect(url, { clientId: randomDeviceId(), tls, reconnectPeriodMs: 0 });
  open.push(t);
  return t;
}

/** The typed error and how long it took, for a connect that must fail. */
async function refusal(url: string, tls: BrokerTls): Promise<{ error: MqttTransportError; ms: number }> {
  const started = performance.now();
  const error = await connect(url, tls).then(
    () => {
      throw new Error("connected, but the handshake should have failed");
    },
    (e: unknown) => e as MqttTransportError,
  );
  return { error, ms: performance.now() - started };
}

beforeAll(() => {
  pki = makeTestPki(dir);
});
afterAll(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(true)));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe("MQTT over TLS (private Mosquitto with a TLS listener)", () => {
  let server: PrivateMosquitto;
  beforeAll(async () => {
    server = await broker();
  });

  it("connects with the CA that issued the broker's certificate and carries frames", async () => {
    expect(server.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const topic = inboxTopic(randomPrefix(), 1, randomDeviceId());
    const sub = await connect(server.url, { ca: pem(pki.caCert) });
    const got = new Promise<Buffer>((resolve) => sub.on("message", (_t, payload) => resolve(payload)));
    await sub.subscribe([topic]);
    const pub = await connect(server.url, { ca: pem(pki.caCert) });
    await pub.publish(topic, Buffer.from("over tls"));
    expect((await got).toString()).toBe("over tls");
  });

  it("refuses a broker whose certificate another CA issued, fast and typed", async () => {
    const { error, ms } = await refusal(server.url, { ca: pem(pki.otherCaCert) });
    expect(error).toBeInstanceOf(MqttTransportError);
    expect(error.code).toBe("E_BROKER_TLS");
    expect(error.message).toMatch(/not issued by a trusted CA/);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it("refuses a broker of a private CA when no CA is given (only Node's public roots are trusted)", async () => {
    const { error } = await refusal(server.url, {});
    expect(error.code).toBe("E_BROKER_TLS");
  });

  it("refuses a certificate from the trusted CA that names another host", async () => {
    const wrongHost = await broker({ certFile: pki.wrongHostCert, keyFile: pki.wrongHostKey });
    const { error, ms } = await refusal(wrongHost.url, { ca: pem(pki.caCert) });
    expect(error.code).toBe("E_BROKER_TLS");
    expect(error.tlsCode).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(error.message).toMatch(/does not name the host/);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it("refuses an expired certificate from the trusted CA", async () => {
    const expired = await broker({ certFile: pki.expiredCert, keyFile: pki.expiredKey });
    const { error, ms } = await refusal(expired.url, { ca: pem(pki.caCert) });
    expect(error.code).toBe("E_BROKER_TLS");
    expect(error.tlsCode).toBe("CERT_HAS_EXPIRED");
    expect(error.message).toMatch(/expired/);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it("says when the port does not speak TLS", async () => {
    const plain = await startPrivateMosquitto();
    brokers.push(plain);
    const { error, ms } = await refusal(plain.url.replace("mqtt:", "mqtts:"), { ca: pem(pki.caCert) });
    expect(error.code).toBe("E_BROKER_TLS");
    expect(error.message).toMatch(/during the TLS handshake \(no TLS on this port\?\)/);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it("refuses TLS options with a plaintext URL instead of silently connecting in clear", async () => {
    await expect(
      MqttTransport.connect("mqtt://127.0.0.1:1", { clientId: "x", tls: { ca: pem(pki.caCert) } }),
    ).rejects.toMatchObject({ code: "E_BAD_ARGUMENT" });
  });

  it("shows no password of the URL in a TLS error", async () => {
    const { error } = await refusal(server.url.replace("mqtts://", "mqtts://u:hunter2-tls@"), {
      ca: pem(pki.otherCaCert),
    });
    expect(error.code).toBe("E_BROKER_TLS");
    expect(error.message).not.toContain("hunter2-tls");
  });

  it("is TLS on the wire: mosquitto_sub without the CA fails, with it succeeds", () => {
    const port = String(server.port);
    const sub = (...args: string[]) =>
      spawnSync("mosquitto_sub", ["-h", "127.0.0.1", "-p", port, "-t", "x", "-C", "1", "-W", "1", ...args], {
        encoding: "utf8",
        timeout: 10_000,
      });
    // Plain MQTT to the TLS port: no CONNACK ever comes.
    expect(sub().status).not.toBe(0);
    const otherCa = sub("--cafile", pki.otherCaCert);
    expect(otherCa.status).not.toBe(0);
    expect(otherCa.stderr).toMatch(/certificate verify failed|Protocol error|Error/i);
    // With the CA it connects and then times out waiting for a message (-W): exit 27 on 2.0.11.
    const withCa = sub("--cafile", pki.caCert);
    expect(withCa.stderr).not.toMatch(/certificate verify failed/);
    expect(withCa.status).toBe(27);
  });
});

describe("a TLS listener that requires a client certificate", () => {
  let server: PrivateMosquitto;
  beforeAll(async () => {
    server = await broker({ requireCertificate: true });
  });

  it("admits a client with a certificate from its CA", async () => {
    const t = await connect(server.url, {
      ca: pem(pki.caCert),
      cert: pem(pki.clientCert),
      key: pem(pki.clientKey),
    });
    expect(t.connected).toBe(true);
  });

  it("refuses a client without a certificate, fast and typed", async () => {
    const { error, ms } = await refusal(server.url, { ca: pem(pki.caCert) });
    expect(error.code).toBe("E_BROKER_TLS");
    expect(error.message).toMatch(/client certificate/);
    expect(ms).toBeLessThan(FAST_MS);
  });

  it("refuses a client whose certificate another CA issued", async () => {
    // The self-signed certificate is no client certificate of the broker's CA.
    const { error, ms } = await refusal(server.url, {
      ca: pem(pki.caCert),
      cert: pem(pki.selfSignedCert),
      key: pem(pki.selfSignedKey),
    });
    expect(error.code).toBe("E_BROKER_TLS");
    expect(ms).toBeLessThan(FAST_MS);
  });
});

describe("no way around the certificate check", () => {
  it("no product, testkit or bench source turns certificate verification off", () => {
    const root = resolve(__dirname, "../../..");
    const offenders: string[] = [];
    const walk = (folder: string): void => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|cjs|mjs|js)$/.test(entry.name)) {
          const text = readFileSync(path, "utf8");
          if (
            /rejectUnauthorized\s*:\s*false|NODE_TLS_REJECT_UNAUTHORIZED|checkServerIdentity\s*:/.test(text)
          )
            offenders.push(path.slice(root.length + 1));
        }
      }
    };
    for (const folder of [
      "transport",
      "services",
      "device",
      "platform",
      "protocol",
      "chain",
      "scripts",
      "testkit",
      "bench",
    ])
      walk(join(root, folder));
    expect(offenders).toEqual([]);
  });
});
