import { describe, expect, it } from "vitest";
import {
  AeadSuite,
  createChannel,
  FRAME_OVERHEAD,
  MAX_MESSAGES_PER_KEY,
  MessageType,
  toHex,
} from "../../../protocol";
import { expectCode } from "../expect-code";
import { fullSession } from "../grant-fixture";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function pair(suite?: AeadSuite, seed = "chan") {
  const f = fullSession({ suite, seed });
  return { f, a: createChannel(f.s1), b: createChannel(f.s2) };
}

describe("channel", () => {
  it.each([AeadSuite.AES_256_GCM, AeadSuite.CHACHA20_POLY1305])(
    "round-trips both ways and confirms keys (suite %i)",
    (suite) => {
      const { f, a, b } = pair(suite);
      expect(a.receiver.confirmed).toBe(false);
      const f1 = a.sender.seal(enc("hello"), f.now);
      expect(dec(b.receiver.open(f1, f.now).plaintext)).toBe("hello");
      expect(b.receiver.confirmed).toBe(true);
      const f2 = b.sender.seal(enc("world"), f.now);
      expect(dec(a.receiver.open(f2, f.now).plaintext)).toBe("world");
      expect(a.receiver.confirmed).toBe(true);
      expect(f1[1]).toBe(MessageType.FRAME_I2R);
      expect(f2[1]).toBe(MessageType.FRAME_R2I);
      // Sk is wiped once the direction keys exist.
      expect(f.s1.sessionKey.every((x) => x === 0)).toBe(true);
    },
  );

  it(`has ${FRAME_OVERHEAD} bytes of overhead (target ≤ 32)`, () => {
    const { f, a } = pair();
    for (const n of [0, 1, 100, 1000])
      expect(a.sender.seal(new Uint8Array(n), f.now).length - n).toBe(FRAME_OVERHEAD);
    expect(FRAME_OVERHEAD).toBeLessThanOrEqual(32);
    console.info(`[measure] channel frame overhead: ${FRAME_OVERHEAD} bytes`);
  });

  it("refuses a replayed frame and accepts reordering inside the window", () => {
    const { f, a, b } = pair();
    const frames = Array.from({ length: 5 }, (_, i) => a.sender.seal(enc(`m${i}`), f.now));
    b.receiver.open(frames[4] as Uint8Array, f.now);
    b.receiver.open(frames[1] as Uint8Array, f.now);
    expectCode(() => b.receiver.open(frames[4] as Uint8Array, f.now), "E_REPLAY");
    expectCode(() => b.receiver.open(frames[1] as Uint8Array, f.now), "E_REPLAY");
    expect(dec(b.receiver.open(frames[0] as Uint8Array, f.now).plaintext)).toBe("m0");
  });

  it("refuses a frame older than the 64-frame window", () => {
    const { f, a, b } = pair();
    const old = a.sender.seal(enc("old"), f.now);
    const edge = a.sender.seal(enc("edge"), f.now, 1n);
    // Window = highest and the 63 below it: with highest 64, seq 0 is out and seq 1 is in.
    b.receiver.open(a.sender.seal(enc("new"), f.now, 64n), f.now);
    expectCode(() => b.receiver.open(old, f.now), "E_REPLAY");
    expect(dec(b.receiver.open(edge, f.now).plaintext)).toBe("edge");
  });

  it("refuses to build a channel for an AEAD suite it does not know", () => {
    const f = fullSession({ seed: "suite" });
    expectCode(() => createChannel({ ...f.s1, suite: 0x7f as AeadSuite }), "E_UNSUPPORTED");
  });

  it("a bad tag never moves the window (atomic check-then-commit)", () => {
    const { f, a, b } = pair();
    const good = a.sender.seal(enc("x"), f.now, 10n);
    const forged = a.sender.seal(enc("y"), f.now, 1000n);
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 1;
    expectCode(() => b.receiver.open(forged, f.now), "E_BAD_TAG");
    expect(dec(b.receiver.open(good, f.now).plaintext)).toBe("x");
    expect(b.receiver.confirmed).toBe(true);
  });

  it("refuses a frame reflected back to its sender with E_WRONG_DIRECTION", () => {
    const { f, a } = pair();
    const frame = a.sender.seal(enc("x"), f.now);
    expectCode(() => a.receiver.open(frame, f.now), "E_WRONG_DIRECTION");
    // Relabelling the direction byte only moves the failure to the tag (header is AAD, keys differ).
    const relabelled = frame.slice();
    relabelled[1] = MessageType.FRAME_R2I;
    expectCode(() => a.receiver.open(relabelled, f.now), "E_BAD_TAG");
  });

  it("refuses a frame of another session", () => {
    const { f, a } = pair(undefined, "s1");
    const other = pair(undefined, "s2");
    expect(toHex(f.s1.sessionId)).not.toBe(toHex(other.f.s1.sessionId));
    const frame = a.sender.seal(enc("x"), f.now);
    expectCode(() => other.b.receiver.open(frame, f.now), "E_WRONG_SESSION");
  });

  it("refuses to send or receive after the session expires", () => {
    const { f, a, b } = pair();
    const frame = a.sender.seal(enc("x"), f.now);
    const end = f.issued.expiresAt;
    expectCode(() => b.receiver.open(frame, end), "E_EXPIRED");
    expectCode(() => a.sender.seal(enc("x"), end), "E_EXPIRED");
  });

  it("enforces the message limit per key", () => {
    const { f, a, b } = pair();
    const last = a.sender.seal(enc("last"), f.now, MAX_MESSAGES_PER_KEY - 1n);
    expect(dec(b.receiver.open(last, f.now).plaintext)).toBe("last");
    expectCode(() => a.sender.seal(enc("x"), f.now), "E_LIMIT");
  });

  it("never reuses a sequence number at the sender", () => {
    const { f, a } = pair();
    a.sender.seal(enc("x"), f.now, 5n);
    expectCode(() => a.sender.seal(enc("y"), f.now, 5n), "E_BAD_STATE");
    expectCode(() => a.sender.seal(enc("y"), f.now, 3n), "E_BAD_STATE");
    expect(a.sender.nextSeq).toBe(6n);
  });

  it("refuses use after close", () => {
    const { f, a } = pair();
    a.sender.close();
    a.receiver.close();
    expectCode(() => a.sender.seal(enc("x"), f.now), "E_BAD_STATE");
    expectCode(() => a.receiver.open(new Uint8Array(40), f.now), "E_BAD_STATE");
  });
});
