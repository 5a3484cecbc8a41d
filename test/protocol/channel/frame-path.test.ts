/**
 * The per-frame path without allocations (issue 16): the header and the nonce written into
 * buffers a sender or receiver keeps, the frame decoded into views, and the envelope sealed in one
 * array, each giving exactly the bytes of the allocating form.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AeadSuite, createChannel, MessageType, toHex } from "../../../protocol";
import {
  checkFrame,
  decodeFrame,
  encodeFrameHeader,
  writeFrameHeader,
  writeFrameSeq,
} from "../../../protocol/channel/frame";
import { frameNonce, frameNonceInto, writeFrameNonce } from "../../../protocol/channel/keys";
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

describe("the channel's number-based per-frame helpers", () => {
  const LIMIT = 2 ** 32;

  it("writeFrameSeq and writeFrameNonce write writeFrameHeader's and frameNonce's bytes for every sequence number below the limit", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: LIMIT - 1 }),
        (sid, iv, seq) => {
          const header = new Uint8Array(15);
          writeFrameHeader(header, MessageType.FRAME_I2R, AeadSuite.CHACHA20_POLY1305, sid, 0n);
          writeFrameSeq(header, seq);
          expect(toHex(header)).toBe(
            toHex(encodeFrameHeader(MessageType.FRAME_I2R, AeadSuite.CHACHA20_POLY1305, sid, BigInt(seq))),
          );
          const nonce = new Uint8Array(12).fill(0xee);
          writeFrameNonce(nonce, iv, seq);
          expect(toHex(nonce)).toBe(toHex(frameNonce(iv, BigInt(seq))));
        },
      ),
    );
  });

  it("checkFrame returns decodeFrame's sequence number and refuses what decodeFrame refuses", () => {
    const header = encodeFrameHeader(MessageType.FRAME_R2I, AeadSuite.AES_256_GCM, new Uint8Array(4), 0n);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: U64 }), (seq) => {
        const frame = new Uint8Array(15 + 16);
        frame.set(header);
        new DataView(frame.buffer).setBigUint64(7, seq);
        if (seq < 2n ** 32n) {
          expect(checkFrame(frame)).toBe(Number(seq));
          expect(decodeFrame(frame).seq).toBe(seq);
        } else {
          expect(() => checkFrame(frame)).toThrow(/out of range/);
          expect(() => decodeFrame(frame)).toThrow(/out of range/);
        }
      }),
    );
  });

  it("frames sealed one after another never share bytes, and each opens as sealed", () => {
    const f = fullSession({ seed: "slab" });
    const sk = f.s1.sessionKey.slice();
    const a = createChannel({ ...f.s1, sessionKey: sk.slice() });
    const b = createChannel({ ...f.s2, sessionKey: sk.slice() });
    const frames = Array.from({ length: 600 }, (_, i) =>
      a.sender.sealWithPrefix(
        new Uint8Array(32).fill(i & 0xff),
        new Uint8Array(200 + (i % 9)).fill(i & 0xff),
        f.now,
      ),
    );
    // Per underlying buffer, the frames' byte ranges are disjoint.
    const byBuffer = new Map<ArrayBufferLike, Array<[number, number]>>();
    for (const fr of frames) {
      const list = byBuffer.get(fr.buffer) ?? [];
      list.push([fr.byteOffset, fr.byteOffset + fr.byteLength]);
      byBuffer.set(fr.buffer, list);
    }
    expect(byBuffer.size).toBeGreaterThan(1);
    for (const ranges of byBuffer.values()) {
      ranges.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
    }
    for (const [i, fr] of frames.entries()) {
      expect(fr.subarray(0, 32).every((x) => x === (i & 0xff))).toBe(true);
      const { plaintext } = b.receiver.open(fr.subarray(32), f.now);
      expect(plaintext.length).toBe(200 + (i % 9));
      expect(plaintext.every((x) => x === (i & 0xff))).toBe(true);
    }
  });
});
