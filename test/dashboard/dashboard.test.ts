/**
 * The operator dashboard in a real browser (Debian's Chromium, headless, through playwright-core)
 * against a real head, a real Hardhat chain and the head's embedded broker: sign-in, the page's
 * security headers, enrolling from the form, a join seen live, a revocation from the page ending
 * a session, and hostile strings rendered as text.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device } from "../../device/sdk";
import { launchBrowser, type TestBrowser } from "../../testkit/browser";
import { adminRegistry, startTestChain, type TestChain } from "../../testkit/chain";
import { joinedDevice, nextEvent } from "../../testkit/device";
import { makeTestDevice, startTestHead, type TestHead } from "../../testkit/head";

/** Markup that runs script if it is ever parsed as HTML. */
const XSS = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"'&amp;`;

describe("operator dashboard", () => {
  let chain: TestChain;
  let head: TestHead;
  let browser: TestBrowser;
  const devices: Device[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const device of devices) await device.close();
    await browser?.close();
    await head?.destroy();
    await chain?.stop();
  });

  async function signedIn(view = "cluster"): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${head.url}/dashboard/#${view}`);
    await page.fill("#token", head.adminToken);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector(`#view-${view}`);
    await page.waitForSelector("#live-state.live.live");
    return page;
  }

  it("refuses a wrong token and signs in with the right one, keeping it out of storage and the URL", async () => {
    const page = await browser.newPage();
    await page.goto(`${head.url}/dashboard/`);
    await page.fill("#token", "iog1.wrong.token");
    await page.click("#sign-in button[type=submit]");
    await expect.poll(() => page.textContent("#token-error")).toContain("E_UNAUTHORIZED");
    expect(await page.$("#content")).toBeNull();

    await page.fill("#token", head.adminToken);
    await page.click("#sign-in button[type=submit]");
    await page.waitForSelector("#view-cluster .card");
    expect(await page.getAttribute("#view-cluster .card code.hex", "data-full")).toBe(head.headAddress);
    // Strings, not functions: the test program has no DOM types; this runs in the page.
    const kept = await page.evaluate(
      "({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, url: location.href })",
    );
    expect(kept).toEqual({ local: 0, session: 0, cookie: "", url: `${head.url}/dashboard/` });
    expect(await page.$("#token")).toBeNull();
    await page.close();
  });

  it("serves the page under a strict CSP, with no inline script or style", async () => {
    const response = await fetch(`${head.url}/dashboard/`);
    const csp = response.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
    ])
      expect(csp).toContain(directive);
    expect(csp).not.toContain("unsafe");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son\w+=/i);
    expect(html).not.toMatch(/https?:\/\//);
    const redirect = await fetch(`${head.url}/dashboard`, { redirect: "manual" });
    expect([redirect.status, redirect.headers.get("location")]).toEqual([301, "/dashboard/"]);

    // The browser enforces it: a script added inline at run time does not run.
    const page = await signedIn();
    const ran = await page.evaluate(
      "(() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.append(s); return window.__inline; })()",
    );
    expect(ran).toBeUndefined();
    await page.close();
  });

  it("enrolls a device from the form: the chain holds it, and bad input shows the API's error at its field", async () => {
    const page = await signedIn("devices");
    await page.click("#enroll-panel summary");
    const device = makeTestDevice();
    const body = device.enrollBody(head.clusterId);

    await page.fill("#enroll-deviceId", "not hex");
    await page.fill("#enroll-keyAddress", body.keyAddress);
    await page.fill("#enroll-proof", body.proof);
    await page.click("#enroll-form button[type=submit]");
    await expect.poll(() => page.textContent("#enroll-deviceId-error")).toMatch(/^E_VALIDATION: deviceId: /);

    // A proof by the right key for another device ID: the head's E_BAD_PROOF, next to the proof.
    await page.fill("#enroll-deviceId", makeTestDevice().deviceIdHex);
    await page.click("#enroll-form button[type=submit]");
    await expect.poll(() => page.textContent("#enroll-proof-error")).toMatch(/^E_BAD_PROOF: /);
    expect(await page.textContent("#enroll-deviceId-error")).toBe("");

    await page.fill("#enroll-deviceId", body.deviceId);
    await page.click("#enroll-form button[type=submit]");
    const receipt = await page.waitForSelector("#enroll-form .receipt");
    const tx = await (await receipt.$("code.tx"))!.textContent();
    expect(tx).toMatch(/^0x[0-9a-f]{64}$/);
    const mined = await chain.provider.getTransactionReceipt(tx!);
    expect(await receipt.textContent()).toContain(`block ${mined!.blockNumber}`);
    const onChain = await adminRegistry(chain).getDevice(`0x${body.deviceId}`);
    expect(onChain.keyAddress.toLowerCase()).toBe(body.keyAddress);
    await page.waitForSelector(`#device-list tr[data-device="${body.deviceId}"]`);
    await page.close();
  });

  it("shows a device that joins through the SDK live, without a reload", async () => {
    const page = await signedIn("devices");
    const device = await joinedDevice(head);
    devices.push(device);
    const joinedAt = Date.now();
    const row = `#device-list tr[data-device="${device.deviceId}"] .member-until`;
    await page.waitForSelector(row, { timeout: 5_000 });
    const seenAfterMs = Date.now() - joinedAt;
    // The issue asks for a second; the test allows for a loaded CI machine and reports the figure.
    console.info(`dashboard: a join appeared on the page ${seenAfterMs} ms after the SDK's join returned`);
    expect(seenAfterMs).toBeLessThan(3_000);
    await page.click("#tab-activity");
    await expect.poll(() => page.textContent("#activity-list")).toContain(device.deviceId);
    await page.close();
  });

  it("revokes from the page after a confirmation naming the device, ending its session and telling its peer", async () => {
    const [a, b] = [await joinedDevice(head), await joinedDevice(head)];
    devices.push(a, b);
    await a.connect();
    await b.connect();
    await a.openSession(b.deviceId);
    const peerTold = nextEvent<{ peerId: string }>(a, "peer-ended");

    const page = await signedIn("devices");
    await page.fill("#device-search", b.deviceId.slice(0, 20));
    await page.waitForSelector(`#device-list tr[data-device="${b.deviceId}"]`);
    await page.click(`button[data-action=revoke][data-device="${b.deviceId}"]`);
    expect(await page.isVisible("#revoke-dialog")).toBe(true);
    expect(await page.textContent("#revoke-target")).toBe(b.deviceId);
    await page.click("#revoke-form button[type=submit]");
    const receipt = await page.waitForSelector("#device-action-result .receipt");
    expect(await receipt.textContent()).toContain(`Revoked ${b.deviceId}`);

    expect((await peerTold).peerId).toBe(b.deviceId);
    expect(head.context.sessions.liveSessionsOf(b.deviceId, Date.now())).toEqual([]);
    expect(head.context.members.getByDevice(b.deviceId)).toBeUndefined();
    expect(await adminRegistry(chain).isActive(`0x${b.deviceId}`)).toBe(false);
    await expect
      .poll(() => page.textContent(`#device-list tr[data-device="${b.deviceId}"]`))
      .toContain("revoked");
    await page.close();
  });

  it("renders every string a device or an operator controls as text, never as markup", async () => {
    const page = await signedIn("audit");
    // Stored rows and live events carry hostile strings in every field the page shows.
    await head.context.audit.record({
      at: Date.now(),
      event: XSS,
      operator: XSS,
      reason: XSS,
      deviceId: XSS,
      note: XSS,
    });
    head.context.events.emit("granted", { sessionId: XSS, initiator: XSS, responder: XSS });
    await page.click("#tab-audit");
    await expect.poll(() => page.textContent("#audit-list")).toContain(XSS);

    // Every form field: sign-in aside, enroll (typed and uploaded), rotate, search.
    await page.click("#tab-devices");
    await page.click("#enroll-panel summary");
    for (const field of ["deviceId", "keyAddress", "proof"]) await page.fill(`#enroll-${field}`, XSS);
    await page.click("#enroll-form button[type=submit]");
    await expect.poll(() => page.textContent("#enroll-deviceId-error")).toContain("E_VALIDATION");
    const file = join(head.dir, "request.json");
    writeFileSync(file, JSON.stringify({ deviceId: XSS, keyAddress: XSS, proof: XSS }));
    await page.setInputFiles("#enroll-file", file);
    await expect.poll(() => page.inputValue("#enroll-proof")).toBe(XSS);
    await page.fill("#device-search", XSS);
    await expect.poll(() => page.textContent("#device-search-error")).toContain("E_VALIDATION");

    const device = makeTestDevice();
    await head.operator("POST", "/v1/devices", device.enrollBody(head.clusterId));
    await page.fill("#device-search", device.deviceIdHex);
    await page.click(`button[data-action=rotate][data-device="${device.deviceIdHex}"]`);
    await page.fill("#rotate-keyAddress", XSS);
    await page.fill("#rotate-proof", XSS);
    await page.click("#rotate-form button[type=submit]");
    await expect.poll(() => page.textContent("#rotate-keyAddress-error")).toContain("E_VALIDATION");
    await page.click("#rotate-form button.secondary");

    await page.click("#tab-activity");
    await expect.poll(() => page.textContent("#activity-list")).toContain(XSS);
    const outcome = await page.evaluate(
      "({ xss: window.__xss, images: document.querySelectorAll('img').length, scripts: [...document.scripts].map((s) => s.getAttribute('src')) })",
    );
    expect(outcome).toEqual({ xss: undefined, images: 0, scripts: ["main.js"] });
    await page.close();

    // A wrong token made of markup is refused as text too.
    const signIn = await browser.newPage();
    await signIn.goto(`${head.url}/dashboard/`);
    await signIn.fill("#token", XSS);
    await signIn.click("#sign-in button[type=submit]");
    await expect.poll(() => signIn.textContent("#token-error")).toContain("E_UNAUTHORIZED");
    expect(await signIn.evaluate("document.querySelectorAll('img').length")).toBe(0);
    await signIn.close();
  });

  it("has no HTML sink in its sources: every string reaches the page as text", () => {
    const root = join(__dirname, "../../dashboard");
    const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files)
      expect(readFileSync(join(root, file), "utf8"), file).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment|eval\(|new Function/,
      );
  });
});
