import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device } from "../../device/sdk";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { INSIDE } from "../../testkit/device";
import { type HeadProcess, headProcess } from "../../testkit/head-process";
import { runPool } from "../../testkit/pool";

const DEVICES = Number(process.env.IOTGUARD_LOAD_DEVICES ?? 200);
const ROUNDS = Number(process.env.IOTGUARD_LOAD_ROUNDS ?? 3);
const MESSAGES_PER_ROUND = 10; // per direction per pair

async function headRssBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (!match) throw new Error("no process_resident_memory_bytes in /metrics");
  return Number(match[1]);
}

describe(`load: ${DEVICES} devices through one head`, () => {
  let chain: TestChain;
  let head: HeadProcess;
  let url: string;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), "iotguard-load-"));
  const devices: Device[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await headProcess(chain);
    ({ url, adminToken: token } = head);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)));
    await head?.destroy();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("enrolls, joins concurrently and exchanges traffic with no error, loss, duplicate or reused nonce", async () => {
    const started = performance.now();
    await runPool(DEVICES, 8, async (i) => {
      // The devices read their head from the registry (their trust anchor), as real ones do.
      const device = await Device.open(join(dir, `d${i}`), {
        registry: {
          rpcUrl: chain.node.url,
          address: chain.deployment.address,
          chainId: chain.deployment.chainId,
        },
      });
      await device.init();
      devices[i] = device;
    });
    for (let i = 0; i < DEVICES; i += 200) {
      const batch = await Promise.all(devices.slice(i, i + 200).map((d) => d.enrollmentRequest(1)));
      const response = await fetch(`${url}/v1/devices/batch`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ devices: batch }),
      });
      expect(response.status).toBe(201);
    }
    const enrolled = performance.now();

    // Every device joins at once.
    await Promise.all(devices.map((d) => d.join(url, { position: INSIDE })));
    await runPool(devices.length, 20, (i) => devices[i]!.connect());
    const joinedAt = performance.now();

    // Pairs (0,1), (2,3), ...: the even one asks for the session.
    const pairs: [Device, Device][] = [];
    for (let i = 0; i + 1 < DEVICES; i += 2) pairs.push([devices[i]!, devices[i + 1]!]);
    await runPool(pairs.length, 25, async (i) => {
      const [a, b] = pairs[i]!;
      await a.openSession(b.deviceId);
    });
    const sessionsAt = performance.now();

    const received = new Map<string, number>();
    let errors = 0;
    for (const d of devices) {
      d.on("message", (m) => {
        const key = `${m.sessionId}/${m.from}/${m.seq}`;
        received.set(key, (received.get(key) ?? 0) + 1);
      });
      d.on("error", () => {
        errors++;
      });
    }

    const sentKeys = new Set<string>();
    const rss: number[] = [await headRssBytes(url)];
    for (let round = 0; round < ROUNDS; round++) {
      await runPool(pairs.length, 50, async (i) => {
        const [a, b] = pairs[i]!;
        for (let m = 0; m < MESSAGES_PER_ROUND; m++) {
          for (const [from, to] of [
            [a, b],
            [b, a],
          ] as const) {
            const seq = await from.send(to.deviceId, `round ${round} message ${m}`);
            const session = (await from.status()).sessions.find((s) => s.peerId === to.deviceId);
            const key = `${session?.sessionId}/${from.deviceId}/${seq}`;
            expect(sentKeys.has(key), `nonce reused: ${key}`).toBe(false);
            sentKeys.add(key);
          }
        }
      });
      // Wait for delivery (bounded), then sample the head's memory.
      const deadline = Date.now() + 30_000;
      while (received.size < sentKeys.size && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      rss.push(await headRssBytes(url));
    }
    const done = performance.now();

    const lost = [...sentKeys].filter((k) => !received.has(k)).length;
    const duplicated = [...received.values()].filter((n) => n > 1).length;
    const refused = devices.reduce((sum, d) => sum + d.stats.refused, 0);
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    console.info(
      `load: ${DEVICES} devices, ${pairs.length} sessions, ${sentKeys.size} messages; ` +
        `enroll ${Math.round(enrolled - started)} ms, join+connect ${Math.round(joinedAt - enrolled)} ms, ` +
        `sessions ${Math.round(sessionsAt - joinedAt)} ms, traffic ${Math.round(done - sessionsAt)} ms; ` +
        `lost ${lost}, duplicated ${duplicated}, refused ${refused}, errors ${errors}, reused nonces 0; ` +
        `head RSS by round (MB): ${rss.map(mb).join(" → ")}`,
    );
    expect({ lost, duplicated, refused, errors }).toEqual({ lost: 0, duplicated: 0, refused: 0, errors: 0 });
    expect(sentKeys.size).toBe(pairs.length * 2 * MESSAGES_PER_ROUND * ROUNDS);
    // Flat memory: after the first round warms up, later rounds add less than 25%.
    expect(rss.at(-1)!).toBeLessThan(rss[1]! * 1.25);
  }, 300_000);
});
