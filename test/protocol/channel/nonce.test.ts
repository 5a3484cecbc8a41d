import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createChannel, MessageType, toHex } from "../../../protocol";
import { decodeFrame } from "../../../protocol/channel/frame";
import { deriveDirectionKeys, frameNonce } from "../../../protocol/channel/keys";
import { fullSession } from "../grant-fixture";

describe("channel nonces", () => {
  it("no two frames of a session share a (key, nonce), in either direction", () => {
    const f = fullSession({ seed: "nonce" });
    const sk = f.s1.sessionKey.slice();
    const keys = {
      [MessageType.FRAME_I2R]: deriveDirectionKeys(sk, f.s1.sessionId, f.s1.suite, MessageType.FRAME_I2R),
      [MessageType.FRAME_R2I]: deriveDirectionKeys(sk, f.s1.sessionId, f.s1.suite, MessageType.FRAME_R2I),
    };
    expect(toHex(keys[0x20].key)).not.toBe(toHex(keys[0x21].key));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 1000n })), { maxLength: 60 }),
        (steps) => {
          const a = createChannel({ ...f.s1, sessionKey: sk.slice() });
          const b = createChannel({ ...f.s2, sessionKey: sk.slice() });
          const used = new Set<string>();
          for (const [fromA, gap] of steps) {
            const sender = fromA ? a.sender : b.sender;
            const frame = sender.seal(new Uint8Array(3), f.now, sender.nextSeq + gap);
            const d = decodeFrame(frame);
            const k = keys[d.type];
            const id = `${toHex(k.key)}/${toHex(frameNonce(k.iv, d.seq))}`;
            expect(used.has(id)).toBe(false);
            used.add(id);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("frameNonce is the IV XOR the big-endian sequence number in the last 8 bytes", () => {
    const iv = new Uint8Array(12).fill(0xff);
    expect(toHex(frameNonce(iv, 0x0102n))).toBe("fffffffffffffffffffffefd");
    expect(toHex(frameNonce(iv, 0n))).toBe(toHex(iv));
  });
});
