import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeAck, encodeAck, isTelemetryError, TelemetrySize } from "../../telemetry";

const streamId = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2]);

describe("Ack codec", () => {
  it("round-trips every stream ID and next index, in 14 bytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (id, nextIndex) => {
          const bytes = encodeAck({ streamId: id, nextIndex });
          expect(bytes.length).toBe(TelemetrySize.ACK);
          expect(decodeAck(bytes)).toEqual({ streamId: id, nextIndex });
        },
      ),
    );
  });

  it("encodes a fixed ack to the same bytes", () => {
    expect(Buffer.from(encodeAck({ streamId, nextIndex: 258 })).toString("hex")).toBe(
      "0131090807060504030200000102",
    );
  });

  it("refuses every truncation, a trailing byte, another type and another version", () => {
    const bytes = encodeAck({ streamId, nextIndex: 1 });
    for (let n = 0; n < bytes.length; n++)
      expect(() => decodeAck(bytes.subarray(0, n))).toThrow(/E_TELEMETRY_MALFORMED/);
    expect(() => decodeAck(Uint8Array.from([...bytes, 0]))).toThrow(/E_TELEMETRY_MALFORMED/);
    expect(() => decodeAck(Uint8Array.from([1, 0x30, ...bytes.subarray(2)]))).toThrow(
      /E_TELEMETRY_MALFORMED/,
    );
    expect(() => decodeAck(Uint8Array.from([2, ...bytes.subarray(1)]))).toThrow(/E_TELEMETRY_UNSUPPORTED/);
  });

  it("refuses to encode a next index beyond u32 or a stream ID of the wrong size", () => {
    expect(() => encodeAck({ streamId, nextIndex: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeAck({ streamId, nextIndex: -1 })).toThrow(RangeError);
    expect(() => encodeAck({ streamId: new Uint8Array(7), nextIndex: 0 })).toThrow(TypeError);
  });

  it("throws only TelemetryErrors on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 30 }), (bytes) => {
        try {
          decodeAck(bytes);
        } catch (e) {
          expect(isTelemetryError(e)).toBe(true);
        }
      }),
    );
  });
});
