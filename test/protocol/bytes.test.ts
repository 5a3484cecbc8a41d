/**
 * protocol/bytes.ts's Writer: one growing buffer, byte for byte what DataView writes.
 */
import { describe, expect, it } from "vitest";
import { fromHex, Reader, toHex, Writer } from "../../protocol/bytes";

describe("Writer", () => {
  it("writes big-endian fields byte for byte as DataView does, past its starting capacity", () => {
    const big = new Uint8Array(300).map((_, i) => i & 0xff);
    const out = new Writer(4)
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

  it("hands out a copy: writing on does not change bytes already finished", () => {
    const w = new Writer().u8(1);
    const first = w.finish();
    w.u8(2);
    expect(first).toEqual(Uint8Array.of(1));
    expect(w.finish()).toEqual(Uint8Array.of(1, 2));
  });
});

describe("toHex", () => {
  it("writes every byte value as two lower-case digits, as Node's hex encoder does", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(toHex(all)).toBe(Buffer.from(all).toString("hex"));
    expect(toHex(new Uint8Array(0))).toBe("");
    expect(fromHex(toHex(all))).toEqual(all);
  });
});
