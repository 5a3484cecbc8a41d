/**
 * protocol/bytes.ts: hex as Node writes it.
 */
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../protocol/bytes";

describe("toHex", () => {
  it("writes every byte value as two lower-case digits, as Node's hex encoder does", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(toHex(all)).toBe(Buffer.from(all).toString("hex"));
    expect(toHex(new Uint8Array(0))).toBe("");
    expect(fromHex(toHex(all))).toEqual(all);
  });
});
