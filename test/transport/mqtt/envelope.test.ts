import { describe, expect, it } from "vitest";
import {
  decodeEnvelope,
  decodeSetupPayload,
  encodeEnvelope,
  encodeSetupPayload,
  EnvelopeError,
} from "../../../transport/mqtt/envelope";

const id = (byte: number) => new Uint8Array(32).fill(byte);
const MESSAGE = Uint8Array.of(1, 0x10, 0xaa, 0xbb);

describe("inbox envelope and set-up payload", () => {
  it("lays out `id || message` (fixed vectors) and splits it back, naming the id and the type", () => {
    const setup = encodeSetupPayload(id(0xcd), MESSAGE);
    expect(Buffer.from(setup).toString("hex")).toBe(`${"cd".repeat(32)}0110aabb`);
    const parsed = decodeSetupPayload(setup);
    expect(parsed.targetId).toBe("cd".repeat(32));
    expect(parsed.type).toBe(0x10);
    expect([...parsed.message]).toEqual([...MESSAGE]);

    const envelope = decodeEnvelope(encodeEnvelope(id(0x01), MESSAGE));
    expect(envelope).toMatchObject({ senderId: "01".repeat(32), type: 0x10 });
  });

  it("reads from a view into a larger buffer without copying the wrong bytes", () => {
    const backing = new Uint8Array(100).fill(0xee);
    backing.set(encodeSetupPayload(id(0x22), MESSAGE), 10);
    const parsed = decodeSetupPayload(backing.subarray(10, 10 + 32 + MESSAGE.length));
    expect(parsed.targetId).toBe("22".repeat(32));
    expect([...parsed.message]).toEqual([...MESSAGE]);
  });

  it("splits an inbox envelope that arrives as a slice of a Buffer into a plain view of its message", () => {
    const pool = Buffer.alloc(200, 0xee);
    encodeEnvelope(id(0x33), MESSAGE).forEach((byte, i) => (pool[50 + i] = byte));
    const payload = pool.subarray(50, 50 + 32 + MESSAGE.length);
    const envelope = decodeEnvelope(payload);
    expect(envelope.senderId).toBe("33".repeat(32));
    expect([...envelope.message]).toEqual([...MESSAGE]);
    expect(Buffer.isBuffer(envelope.message)).toBe(false);
    expect(envelope.message.buffer).toBe(pool.buffer);
  });

  it("refuses a target ID that is not 32 bytes and a payload too short to hold a message header", () => {
    expect(() => encodeSetupPayload(new Uint8Array(31), MESSAGE)).toThrow(EnvelopeError);
    expect(() => decodeSetupPayload(new Uint8Array(33))).toThrow(EnvelopeError);
    expect(() => decodeSetupPayload(new Uint8Array(0))).toThrow(/too short/);
    expect(decodeSetupPayload(new Uint8Array(34)).message).toHaveLength(2);
  });
});
