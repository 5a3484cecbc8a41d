/**
 * `npx tsx test/dashboard/screenshots.ts`: the screenshots of docs/images/dashboard-*.png, taken
 * in headless Chromium from a real head on a real chain with a small live cluster (enrolled
 * devices, members, sessions, a grant warning, a revocation, some traffic for the charts). Not a
 * test: run it by hand after changing the page.
 */
import { join } from "node:path";
import {
  createGrantRequest,
  createSessionRequest,
  finishJoin,
  fromHex,
  type Membership,
  startJoin,
} from "../../protocol";
import type { Device } from "../../device/sdk";
import { launchBrowser } from "../../testkit/browser";
import { startTestChain } from "../../testkit/chain";
import { joinedDevice } from "../../testkit/device";
import { INSIDE, makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../testkit/head";

const OUT = join(__dirname, "../../docs/images");

/** Joins with the pure protocol core (a membership this script holds, to send a session request from). */
async function joinAs(head: TestHead, device: TestDevice): Promise<Membership> {
  const challenge = new Uint8Array(await (await head.post("/v1/join/challenge")).arrayBuffer());
  const { request, state } = startJoin({
    challengeMessage: challenge,
    clusterId: head.clusterId,
    headAddress: fromHex(head.headAddress.slice(2)),
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: INSIDE,
  });
  const response = await head.post("/v1/join", request);
  return finishJoin(new Uint8Array(await response.arrayBuffer()), state, Date.now());
}

async function main(): Promise<void> {
  const chain = await startTestChain();
  const head = await startTestHead(chain);
  const browser = await launchBrowser();
  const devices: Device[] = [];
  try {
    const batch = Array.from({ length: 40 }, () => makeTestDevice());
    await head.operator("POST", "/v1/devices/batch", {
      devices: batch.map((d) => d.enrollBody(head.clusterId)),
    });
    for (let i = 0; i < 4; i++) devices.push(await joinedDevice(head));
    for (const d of devices) await d.connect();
    await devices[0]!.openSession(devices[1]!.deviceId);
    await devices[2]!.openSession(devices[3]!.deviceId);
    // A grant warning: a member whose device is then revoked asks a current member for a session.
    const [x, y] = [batch[0]!, batch[1]!];
    const [mx, my] = [await joinAs(head, x), await joinAs(head, y)];
    await head.operator("POST", `/v1/devices/${x.deviceIdHex}/revoke`);
    const request = createSessionRequest({
      membership: mx,
      clusterId: head.clusterId,
      peerId: my.deviceId,
      now: Date.now(),
    });
    const forward = createGrantRequest({
      membership: my,
      clusterId: head.clusterId,
      peerId: mx.deviceId,
      sessionRequest: request.message,
      now: Date.now(),
    });
    await head.post("/v1/sessions", forward.message);

    const page = await browser.newPage();
    await page.goto(`${head.url}/dashboard/`);
    await page.screenshot({ path: join(OUT, "dashboard-sign-in.png") });
    await page.fill("#token", head.adminToken);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#view-cluster .card");
    await page.waitForSelector("#live-state.live.live");
    // Live events while the page is open, and traffic for the charts (sampled every 5 s).
    await head.operator("POST", "/v1/devices", makeTestDevice().enrollBody(head.clusterId));
    devices.push(await joinedDevice(head));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 30; i++) await fetch(`${head.url}/health`);
      await head.operator("GET", "/v1/devices?limit=50");
      await new Promise((resolve) => setTimeout(resolve, 5_200));
    }
    await head.operator("POST", `/v1/devices/${devices[4]!.deviceId}/revoke`);

    for (const view of ["cluster", "devices", "sessions", "audit", "metrics", "activity", "readings"]) {
      await page.click(`#tab-${view}`);
      await page.waitForSelector(`#view-${view}`);
      await page.waitForTimeout(600); // the view's own fetches
      await page.screenshot({ path: join(OUT, `dashboard-${view}.png`) });
    }
    await page.click("#tab-devices");
    await page.click(`button[data-action=revoke][data-device="${devices[3]!.deviceId}"]`);
    await page.screenshot({ path: join(OUT, "dashboard-revoke-confirm.png") });
    await page.click("#revoke-form button.secondary");
    await page.close();

    const phone = await browser.newPage({ phone: true });
    await phone.goto(`${head.url}/dashboard/#devices`);
    await phone.fill("#token", head.adminToken);
    await phone.click("#sign-in button[type=submit]");
    await phone.waitForSelector("#device-list tr[data-device]");
    await phone.screenshot({ path: join(OUT, "dashboard-phone-devices.png") });
    await phone.close();
  } finally {
    for (const d of devices) await d.close();
    await browser.close();
    await head.destroy();
    await chain.stop();
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
