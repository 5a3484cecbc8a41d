/**
 * The per-frame path without allocations (issue 16): the header and the nonce written into
 * buffers a sender or receiver keeps, the frame decoded into views, and the envelope sealed in one
 * array, each giving exactly the bytes of the allocating form.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AeadSuite, createChannel, MessageType, toHex } from "../../../protocol";
import { decodeFrame, encodeFrameHeader, writeFrameHeader } from "../../../protocol/channel/frame";
import { frameNonce, frameNonceInto } from "../../../protocol/channel/keys";
import { fullSession } from "../grant-fixture";

const U64 = (1n << 64n) - 1n;

describe("the channel's per-frame path", () => {
  it("writeFrameHeader writes the bytes encodeFrameHeader encodes, for any sequence number", () => {
    const out = new Uint8Array(15);
    fc.assert(
      fc.property(
        fc.constantFrom(MessageType.FRAME_I2R, MessageType.FRAME_R2I),
        fc.constantFrom(AeadSuite.AES_256_GCM, AeadSuite.CHACHA20_POLY1305),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.bigInt({ min: 0n, max: U64 }),
        (type, suite, sid, seq) => {
          writeFrameHeader(out, type, suite, sid, seq);
          expect(toHex(out)).toBe(toHex(encodeFrameHeader(type, suite, sid, seq)));
        },
      ),
    );
  });

  it("writeFrameHeader refuses a sequence number outside 64 bits and a short session ID of another length", () => {
    const out = new Uint8Array(15);
    expect(() =>
      writeFrameHeader(out, MessageType.FRAME_I2R, AeadSuite.AES_256_GCM, new Uint8Array(4), 1n << 64n),
    ).toThrow(RangeError);
    expect(() =>
      writeFrameHeader(out, MessageType.FRAME_I2R, AeadSuite.AES_256_GCM, new Uint8Array(4), -1n),
    ).toThrow(RangeError);
    expect(() =>
      writeFrameHeader(out, MessageType.FRAME_I2R, AeadSuite.AES_256_GCM, new Uint8Array(5), 0n),
    ).toThrow(RangeError);
  });

  it("frameNonceInto rewrites a reused buffer with frameNonce's bytes for each sequence number", () => {
    const scratch = new Uint8Array(12);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.array(fc.bigInt({ min: 0n, max: U64 }), { minLength: 1, maxLength: 8 }),
        (iv, seqs) => {
          for (const seq of seqs)
            expect(toHex(frameNonceInto(scratch, iv, seq))).toBe(toHex(frameNonce(iv, seq)));
        },
      ),
    );
  });

  it("decodeFrame returns views into the frame, not copies", () => {
    const f = fullSession({ seed: "views" });
    const frame = createChannel(f.s1).sender.seal(new Uint8Array(5), f.now);
    const d = decodeFrame(frame);
    for (const part of [d.header, d.shortSessionId, d.sealed]) expect(part.buffer).toBe(frame.buffer);
    expect(d.header.byteOffset).toBe(frame.byteOffset);
    expect(d.sealed.byteOffset).toBe(frame.byteOffset + 15);
  });

  it("sealWithPrefix returns the prefix followed by the frame seal makes for the same number", () => {
    const f = fullSession({ seed: "prefix" });
    const sk = f.s1.sessionKey.slice();
    const a = createChannel({ ...f.s1, sessionKey: sk.slice() });
    const twin = createChannel({ ...f.s1, sessionKey: sk.slice() });
    const b = createChannel({ ...f.s2, sessionKey: sk.slice() });
    const prefix = new Uint8Array(32).fill(7);
    for (let i = 0; i < 3; i++) {
      const plaintext = Uint8Array.of(i, 1, 2, 3);
      const withPrefix = a.sender.sealWithPrefix(prefix, plaintext, f.now);
      const frame = twin.sender.seal(plaintext, f.now);
      expect(toHex(withPrefix)).toBe(toHex(prefix) + toHex(frame));
      expect(toHex(b.receiver.open(withPrefix.subarray(32), f.now).plaintext)).toBe(toHex(plaintext));
    }
    expect(a.sender.nextSeq).toBe(3n);
  });

  it("sealWithPrefix uses each sequence number once, as seal does", () => {
    const f = fullSession({ seed: "prefix-seq" });
    const a = createChannel(f.s1);
    a.sender.sealWithPrefix(new Uint8Array(2), new Uint8Array(1), f.now, 5n);
    expect(() => a.sender.sealWithPrefix(new Uint8Array(2), new Uint8Array(1), f.now, 5n)).toThrow(
      /already used/,
    );
    expect(() => a.sender.seal(new Uint8Array(1), f.now, 4n)).toThrow(/already used/);
  });
});
