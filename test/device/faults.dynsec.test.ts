/**
 * faults.test.ts's broker crash on the production broker set-up: a private Mosquitto administered
 * by the head through dynamic security, over TLS, killed with SIGKILL mid-stream and restarted with
 * its dynsec file and saved sessions. The devices reconnect with their credentials, the session's
 * ACLs are still there, and the application sees every message once.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Counter } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../device/sdk";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { joinedDevice, waitUntil } from "../../testkit/device";
import { startTestHead } from "../../testkit/head";
import { startDynsecMosquitto } from "../../testkit/mosquitto-dynsec";
import { makeTestPki, type TestPki } from "../../testkit/pki";

let chain: TestChain;
let pki: TestPki;
const dir = mkdtempSync(join(tmpdir(), "iotguard-faults-dynsec-"));

beforeAll(async () => {
  pki = makeTestPki(dir);
  chain = await startTestChain();
}, 60_000);
afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("device faults on Mosquitto with dynamic security over TLS", () => {
  it("a broker killed with SIGKILL and restarted: every message arrives once, the session continues", async () => {
    // Sessions saved on SIGUSR1 into a directory the broker (dropped to the mosquitto user) can write.
    const store = mkdtempSync(join(tmpdir(), "iotguard-dynsec-store-"));
    chmodSync(store, 0o777);
    // Later lines win: these replace the launcher's `persistence false`.
    const mosquitto = await startDynsecMosquitto({
      tls: { caFile: pki.caCert, certFile: pki.headCert, keyFile: pki.headKey },
      extraConfig: ["persistence true", `persistence_location ${store}/`, "autosave_interval 3600"],
    });
    const saved = join(store, "mosquitto.db");
    const head = await startTestHead(chain, {
      clusterId: "15",
      brokerUrl: mosquitto.tlsUrl!,
      brokerCa: pki.caCert,
      brokerAdminFile: mosquitto.adminFile,
      logLevel: "silent",
    });
    const brokerTls = { ca: readFileSync(pki.caCert, "utf8") };
    const a: Device = await joinedDevice(head, { brokerTls });
    const b: Device = await joinedDevice(head, { brokerTls });
    try {
      await a.connect();
      await b.connect();
      const counts = new Map<string, number>();
      b.on("message", (m) => {
        const text = new TextDecoder().decode(m.data);
        counts.set(text, (counts.get(text) ?? 0) + 1);
      });
      await a.send(b.deviceId, "m 0");
      await waitUntil(() => counts.has("m 0"), "the first message");
      // The session came the deployed way: the head delivered a's Grant on a's ctl topic itself.
      const count = async (c: Counter<string>, label: string, value: string) =>
        (await c.get()).values.find((v) => v.labels[label] === value)?.value ?? 0;
      expect(await count(head.context.metrics.grantDeliveries, "outcome", "direct")).toBe(1);
      expect(await count(head.context.metrics.setupRelayed, "type", "grant")).toBe(0);
      process.kill(mosquitto.pid, "SIGUSR1"); // the broker knows b's subscription across the crash
      await waitUntil(() => existsSync(saved), "the broker's saved sessions");

      const total = 300;
      const sending = (async () => {
        for (let i = 1; i < total; i++) await a.send(b.deviceId, `m ${i}`);
      })();
      await waitUntil(() => counts.size >= 100, "traffic before the crash", 30_000);
      await mosquitto.kill();
      await new Promise((r) => setTimeout(r, 500));
      await mosquitto.start();
      await sending;
      await waitUntil(
        () => counts.size >= total,
        `all ${total} messages (have ${counts.size})`,
        30_000,
      ).catch(() => undefined);

      const lost = Array.from({ length: total }, (_, i) => `m ${i}`).filter((t) => !counts.has(t));
      const duplicated = [...counts.values()].filter((n) => n > 1).length;
      console.info(
        `broker kill (dynsec, TLS): ${total} sent, ${counts.size} delivered, lost ${lost.length}, duplicated to the application ${duplicated}, dropped as replays ${b.stats.replayed}`,
      );
      expect(duplicated).toBe(0);
      expect(lost).toEqual([]);
      const sessionsBefore = (await a.status()).sessions.map((s) => s.sessionId);
      await a.send(b.deviceId, "after");
      await waitUntil(() => counts.has("after"), "a message after the crash");
      expect((await a.status()).sessions.map((s) => s.sessionId)).toEqual(sessionsBefore);
    } finally {
      await a.close();
      await b.close();
      await head.destroy();
      await mosquitto.stop();
      rmSync(store, { recursive: true, force: true });
    }
  }, 120_000);
});
