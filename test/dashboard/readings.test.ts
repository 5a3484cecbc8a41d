/**
 * The dashboard's readings view in a real browser against a real head, chain and telemetry
 * collector: a device sends readings through its session with the collector, and the page shows
 * them, fetched through the head's `GET /v1/telemetry/readings` proxy (the page never talks to the
 * collector itself). Also the proxy's typed refusals.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../device/sdk";
import { freePort } from "../../platform/free-port";
import { encodeReadingBatch, type Reading } from "../../telemetry";
import { launchBrowser, type TestBrowser } from "../../testkit/browser";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { startTestCollector, type TestCollector, collectorHeadOf } from "../../testkit/collector";
import { joinedDevice, removeDir, waitUntil } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";
import { sampleReading } from "../telemetry/arbitraries";

/** Five readings a second apart ending now, with heart rates 71–75 and SpO2 91–95. */
function recentReadings(): Reading[] {
  const now = Date.now();
  return Array.from({ length: 5 }, (_, i) => ({
    ...sampleReading(now - (4 - i) * 1000),
    heartRateBpm: 71 + i,
    spo2Percent: 91 + i,
  }));
}

describe("dashboard readings view", () => {
  let chain: TestChain;
  let head: TestHead;
  let bareHead: TestHead;
  let collector: TestCollector;
  let device: Device;
  let browser: TestBrowser;
  const collectorDir = mkdtempSync(join(tmpdir(), "iotguard-collector-"));

  beforeAll(async () => {
    chain = await startTestChain();
    // The head reads the collector's token at start, and the collector enrolls through a running
    // head: so the token file is written first (the collector keeps an existing one) and the
    // collector's port chosen before either starts.
    const tokenFile = join(collectorDir, "api-token");
    writeFileSync(tokenFile, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
    const collectorPort = await freePort();
    head = await startTestHead(chain, {
      collectorUrl: `http://127.0.0.1:${collectorPort}`,
      collectorTokenFile: tokenFile,
    });
    collector = await startTestCollector(collectorHeadOf(head, chain), {
      dataDir: collectorDir,
      flags: { port: String(collectorPort) },
    });
    device = await joinedDevice(head, { grantTimeoutMs: 5_000 });
    await device.connect();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await device?.close();
    await collector?.destroy();
    await bareHead?.destroy();
    await head?.destroy();
    await chain?.stop();
    if (device) removeDir(device.dataDir);
    rmSync(collectorDir, { recursive: true, force: true });
  }, 60_000);

  it("shows a device's latest readings as rows and charts, fetched through the head", async () => {
    const readings = recentReadings();
    await device.send(
      collector.deviceId,
      encodeReadingBatch({ streamId: new Uint8Array(randomBytes(8)), firstIndex: 0, readings }),
    );
    await waitUntil(async () => (await collector.store.count(device.deviceId)) === 5, "5 stored readings");

    const page = await browser.newPage();
    await page.goto(`${head.url}/dashboard/#readings`);
    await page.fill("#token", head.adminToken);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#view-readings");
    // The device list suggests the enrolled IDs.
    await expect
      .poll(() => page.$$eval("#readings-devices option", (o) => o.map((x) => x.getAttribute("value"))))
      .toContain(device.deviceId);
    await page.fill("#readings-device", device.deviceId);
    await page.click("#readings-form button[type=submit]");
    await page.waitForSelector("#readings-table tbody tr");
    // Strings, not functions: the test program has no DOM types; this runs in the page.
    const rows = (await page.evaluate(
      `[...document.querySelectorAll("#readings-table tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent))`,
    )) as string[][];
    // Newest first: heart rate and SpO2 of the five readings, in reverse.
    expect(rows.map((cells) => [cells[1], cells[2]])).toEqual([
      ["75", "95"],
      ["74", "94"],
      ["73", "93"],
      ["72", "92"],
      ["71", "91"],
    ]);
    expect(await page.$$eval("#readings-charts polyline", (p) => p.length)).toBe(2);
    expect(await page.textContent("#readings-charts")).toContain("75.0 bpm");

    // A malformed ID gets the head's typed error next to the field, and no row.
    await page.fill("#readings-device", "not-a-device");
    await page.click("#readings-form button[type=submit]");
    await expect.poll(() => page.textContent("#readings-device-error")).toContain("E_VALIDATION");
    expect(await page.$("#readings-table tbody tr")).toBeNull();
    await page.close();
  });

  it("refuses with E_COLLECTOR_UNAVAILABLE when the collector does not answer, and E_COLLECTOR_NOT_CONFIGURED without one", async () => {
    const auth = { headers: { authorization: `Bearer ${head.adminToken}` } };
    const down = await freePort();
    const tokenFile = join(collectorDir, "api-token");
    // Other clusters: cluster 1 is headed by `head` on this chain.
    bareHead = await startTestHead(chain, { clusterId: "2" });
    const none = await fetch(`${bareHead.url}/v1/telemetry/readings`, {
      headers: { authorization: `Bearer ${bareHead.adminToken}` },
    });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe(
      "E_COLLECTOR_NOT_CONFIGURED",
    );
    await bareHead.destroy();

    bareHead = await startTestHead(chain, {
      clusterId: "3",
      collectorUrl: `http://127.0.0.1:${down}`,
      collectorTokenFile: tokenFile,
    });
    const unavailable = await fetch(`${bareHead.url}/v1/telemetry/readings`, {
      headers: { authorization: `Bearer ${bareHead.adminToken}` },
    });
    expect(unavailable.status).toBe(503);
    const body = (await unavailable.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("E_COLLECTOR_UNAVAILABLE");
    expect(body.error.message).not.toContain(collector.token);

    const unauthenticated = await fetch(`${head.url}/v1/telemetry/readings`);
    expect(unauthenticated.status).toBe(401);
    const bad = await fetch(`${head.url}/v1/telemetry/readings?limit=1&extra=1`, auth);
    expect(bad.status).toBe(400);
  });
});
