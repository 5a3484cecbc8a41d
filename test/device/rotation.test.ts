/**
 * Session key rotation (docs/device.md § Key rotation) on real parts: a hardhat node with the
 * registry, a real cluster head with its embedded broker, two SDK devices in temp directories.
 * Limits are set low so a few frames cross several rotations.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Device, MessageEvent, SessionRetiredEvent, SessionRotatedEvent } from "../../device/sdk";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { joinedDevice, waitUntil } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";

const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("session key rotation", () => {
  let chain: TestChain;
  let head: TestHead;
  let a: Device;
  let b: Device;
  /** a's clock runs this far ahead of the wall clock (to age a session without sleeping). */
  let skewMs = 0;
  const atB: MessageEvent[] = [];
  const rotated: SessionRotatedEvent[] = [];
  const retired = { a: [] as SessionRetiredEvent[], b: [] as SessionRetiredEvent[] };

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
    a = await joinedDevice(head, {
      grantTimeoutMs: 5000,
      now: () => Date.now() + skewMs,
      rotation: { maxMessages: 5n, maxAgeMs: 20_000, drainMs: 150 },
    });
    b = await joinedDevice(head, { grantTimeoutMs: 5000, rotation: { drainMs: 150 } });
    await a.connect();
    await b.connect();
    b.on("message", (m) => atB.push(m));
    a.on("session-rotated", (e) => rotated.push(e));
    a.on("session-retired", (e) => retired.a.push(e));
    b.on("session-retired", (e) => retired.b.push(e));
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await head?.destroy();
    await chain?.stop();
  });

  /** The sessions each side still holds in its store (status() reads the store, never keys). */
  async function storedSessionIds(): Promise<{ a: string[]; b: string[] }> {
    const [sa, sb] = await Promise.all([a.status(), b.status()]);
    return {
      a: sa.sessions.filter((s) => s.peerId === b.deviceId).map((s) => s.sessionId),
      b: sb.sessions.filter((s) => s.peerId === a.deviceId).map((s) => s.sessionId),
    };
  }

  it("rotates by message count without losing, duplicating or reordering a message", async () => {
    const texts = Array.from({ length: 23 }, (_, i) => `m${i}`);
    for (const t of texts) await a.send(b.deviceId, t);
    await waitUntil(() => atB.length >= texts.length, "every message at b");
    await b.idle();
    expect(atB.map((m) => str(m.data))).toEqual(texts);
    // 5 frames per key: sessions carry m0–4, m5–9, …, m20–22: four rotations.
    expect(rotated.map((r) => r.reason)).toEqual(["messages", "messages", "messages", "messages"]);
    expect(rotated.every((r) => r.sent === 5n)).toBe(true);
    const sessions = [...new Set(atB.map((m) => m.sessionId))];
    expect(sessions).toHaveLength(5);
    expect(sessions).toEqual([rotated[0]!.previousSessionId, ...rotated.map((r) => r.sessionId)]);
    // Within each session the sequence numbers count up from 0.
    for (const id of sessions)
      expect(atB.filter((m) => m.sessionId === id).map((m) => m.seq)).toEqual(
        [0n, 1n, 2n, 3n, 4n].slice(0, atB.filter((m) => m.sessionId === id).length),
      );
  });

  it("deletes the old sessions' keys on both sides once the new one carries traffic", async () => {
    const current = rotated[rotated.length - 1]!.sessionId;
    const old = [rotated[0]!.previousSessionId, ...rotated.slice(0, -1).map((r) => r.sessionId)];
    await waitUntil(
      () =>
        old.every((id) => retired.a.some((r) => r.sessionId === id)) &&
        old.every((id) => retired.b.some((r) => r.sessionId === id)),
      "both sides retiring every rotated-away session",
    );
    expect(await storedSessionIds()).toEqual({ a: [current], b: [current] });
    // Retired after its drain ("rotated"), or earlier when more sessions with the peer were kept
    // than SESSIONS_PER_PEER allows ("superseded": a slow machine rotates faster than it drains).
    for (const r of retired.a.filter((x) => old.includes(x.sessionId)))
      expect(["rotated", "superseded"]).toContain(r.reason);
  });

  it("rotates by age, then keeps the order and retires the aged session", async () => {
    const before = rotated.length;
    const first = atB.length;
    await a.send(b.deviceId, "fresh");
    // a's clock jumps past maxAgeMs (and stays within the head's 30 s skew for the SessionRequest).
    skewMs = 21_000;
    await a.send(b.deviceId, "after ageing");
    skewMs = 0;
    await waitUntil(() => atB.length >= first + 2, "both messages at b");
    expect(atB.slice(first).map((m) => str(m.data))).toEqual(["fresh", "after ageing"]);
    expect(rotated.slice(before).map((r) => r.reason)).toContain("age");
    const aged = rotated.find((r) => r.reason === "age")!;
    await waitUntil(
      () =>
        retired.a.some((r) => r.sessionId === aged.previousSessionId) &&
        retired.b.some((r) => r.sessionId === aged.previousSessionId),
      "the aged session retired on both sides",
    );
    expect(await storedSessionIds()).toEqual({ a: [aged.sessionId], b: [aged.sessionId] });
  });
});
