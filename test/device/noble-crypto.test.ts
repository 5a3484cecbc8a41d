/**
 * Two SDK devices on the pure-JavaScript @noble backend (`nativeCrypto: false`), as on a platform
 * where the libsodium binding does not load: the same story end to end. Every other SDK test file
 * runs on node:crypto + libsodium, which `Device.open` picks by default; modules are per test file,
 * so this process keeps @noble throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device, MessageEvent } from "../../device/sdk";
import { symmetric } from "../../protocol/crypto/backend";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { connectedPair, waitUntil } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";

const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("two devices on the @noble backend", () => {
  let chain: TestChain;
  let head: TestHead;
  let a: Device;
  let b: Device;
  const atA: MessageEvent[] = [];
  const atB: MessageEvent[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    // The head shares this process and its backend: @noble too.
    head = await startTestHead(chain, { cryptoBackend: "noble" });
    [a, b] = await connectedPair(head, { nativeCrypto: false, grantTimeoutMs: 5000 });
    a.on("message", (m) => atA.push(m));
    b.on("message", (m) => atB.push(m));
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await head?.destroy();
    await chain?.stop();
  });

  it("open a session and exchange messages both ways, sealed and opened by @noble", async () => {
    expect(symmetric().name).toBe("noble");
    await Promise.all([0, 1, 2].map((i) => a.send(b.deviceId, `to b ${i}`)));
    await waitUntil(() => atB.length === 3, "a's messages at b");
    await Promise.all([0, 1, 2].map((i) => b.send(a.deviceId, `to a ${i}`)));
    await waitUntil(() => atA.length === 3, "b's messages at a");
    expect(atB.map((m) => str(m.data))).toEqual(["to b 0", "to b 1", "to b 2"]);
    expect(atA.map((m) => str(m.data))).toEqual(["to a 0", "to a 1", "to a 2"]);
    expect(atA[0]!.sessionId).toBe(atB[0]!.sessionId);
    expect(symmetric().name).toBe("noble");
  }, 30_000);
});
