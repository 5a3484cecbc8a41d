/**
 * protocol/writer.ts's Writer: pooled buffers, byte for byte what DataView writes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../protocol";
import { Reader } from "../../protocol/bytes";
import { Writer } from "../../protocol/writer";

describe("Writer", () => {
  it("writes big-endian fields byte for byte as DataView does, past its pooled buffer's size", () => {
    const big = new Uint8Array(300).map((_, i) => i & 0xff);
    const out = new Writer()
      .u8(0xab)
      .u32(0xdeadbeef)
      .i32(-2)
      .u64(2 ** 53 - 1)
      .u64(0xfedcba9876543210n)
      .bytes(big)
      .u8(7)
      .finish();
    const expected = new Uint8Array(1 + 4 + 4 + 8 + 8 + 300 + 1);
    const view = new DataView(expected.buffer);
    view.setUint8(0, 0xab);
    view.setUint32(1, 0xdeadbeef);
    view.setInt32(5, -2);
    view.setBigUint64(9, BigInt(2 ** 53 - 1));
    view.setBigUint64(17, 0xfedcba9876543210n);
    expected.set(big, 25);
    view.setUint8(325, 7);
    expect(out).toEqual(expected);
    const r = new Reader(out);
    expect([r.u8(), r.u32()]).toEqual([0xab, 0xdeadbeef]);
  });

  it("refuses out-of-range fields with a RangeError and leaves what was written", () => {
    const w = new Writer().u8(1);
    expect(() => w.u8(256)).toThrow(RangeError);
    expect(() => w.u32(-1)).toThrow(RangeError);
    expect(() => w.i32(2 ** 31)).toThrow(RangeError);
    expect(() => w.u64(-1n)).toThrow(RangeError);
    expect(() => w.bytes(new Uint8Array(3), 4, "kid")).toThrow(/kid/);
    expect(w.finish()).toEqual(Uint8Array.of(1));
  });

  it("hands out copies: the next Writers, which reuse its buffer, leave finished bytes as they were", () => {
    const first = new Writer().u32(0x01020304).bytes(new Uint8Array(40).fill(9)).finish();
    const kept = first.slice();
    for (let i = 0; i < 40; i++) new Writer().u32(0xffffffff).bytes(new Uint8Array(40).fill(i)).finish();
    expect(first).toEqual(kept);
    // A pooled buffer comes back wiped: nothing of an earlier message shows through.
    expect(new Writer().u8(1).finish()).toEqual(Uint8Array.of(1));
  });

  it("hands out a copy: writing on does not change bytes already finished", () => {
    const w = new Writer().u8(1);
    const first = w.finish();
    w.u8(2);
    expect(first).toEqual(Uint8Array.of(1));
    expect(w.finish()).toEqual(Uint8Array.of(1, 2));
  });
});

describe("Reader", () => {
  it("reads every integer width as DataView does, top bits included, and refuses a short read", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 17, maxLength: 17 }), (bytes) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        const r = new Reader(bytes);
        expect([r.u8(), r.u32(), r.i32(), r.u64()]).toEqual([
          view.getUint8(0),
          view.getUint32(1),
          view.getInt32(5),
          view.getBigUint64(9),
        ]);
        r.end();
        expect(() => new Reader(bytes.subarray(0, 3)).u32()).toThrow(ProtocolError);
        expect(() => new Reader(bytes.subarray(0, 7)).u64()).toThrow(ProtocolError);
      }),
    );
  });

  it("hands out copies from bytes(): wiping one leaves the message as it was", () => {
    const message = Uint8Array.of(1, 2, 3, 4);
    const copy = new Reader(message).bytes(4);
    copy.fill(0);
    expect(message).toEqual(Uint8Array.of(1, 2, 3, 4));
  });
});
