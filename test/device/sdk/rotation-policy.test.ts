import { describe, expect, it } from "vitest";
import { AeadSuite, MAX_MESSAGES_PER_KEY } from "../../../protocol/constants";
import { AEAD_FRAME_LIMITS, DEFAULT_DRAIN_MS, rotationPolicy } from "../../../device/sdk/session-manager";

describe("rotationPolicy", () => {
  it("defaults to the AEAD limits and a 5 s drain", () => {
    expect(rotationPolicy()).toEqual({ drainMs: DEFAULT_DRAIN_MS });
    // RFC 8446 §5.5's 2^24.5 TLS records of 2^14 B, scaled to 2^16 B frames, rounded down.
    expect(AEAD_FRAME_LIMITS[AeadSuite.AES_256_GCM]).toBe(2n ** 22n);
    expect(AEAD_FRAME_LIMITS[AeadSuite.CHACHA20_POLY1305]).toBeLessThan(MAX_MESSAGES_PER_KEY);
    expect(AEAD_FRAME_LIMITS[AeadSuite.CHACHA20_POLY1305]).toBeGreaterThan(2n ** 31n);
  });

  it("keeps limits set lower for tests", () => {
    expect(rotationPolicy({ maxMessages: 5n, maxAgeMs: 1000, drainMs: 0 })).toEqual({
      maxMessages: 5n,
      maxAgeMs: 1000,
      drainMs: 0,
    });
  });

  it("refuses a limit of the wrong type or out of range, naming the setting", () => {
    for (const bad of [
      { maxMessages: 0n },
      { maxMessages: 5 as unknown as bigint },
      { maxMessages: MAX_MESSAGES_PER_KEY + 1n },
    ])
      expect(() => rotationPolicy(bad)).toThrow(
        expect.objectContaining({
          code: "E_BAD_ARGUMENT",
          message: expect.stringContaining("rotation.maxMessages"),
        }),
      );
    for (const bad of [{ maxAgeMs: 0 }, { maxAgeMs: 1.5 }, { maxAgeMs: Number.NaN }])
      expect(() => rotationPolicy(bad)).toThrow(
        expect.objectContaining({
          code: "E_BAD_ARGUMENT",
          message: expect.stringContaining("rotation.maxAgeMs"),
        }),
      );
    expect(() => rotationPolicy({ drainMs: -1 })).toThrow(
      expect.objectContaining({
        code: "E_BAD_ARGUMENT",
        message: expect.stringContaining("rotation.drainMs"),
      }),
    );
  });
});
