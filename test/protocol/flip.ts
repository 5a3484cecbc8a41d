/**
 * Single-bit flips for the bit-flip tests: every flip of a message must be refused with a
 * ProtocolError whose code is one the test expects for that byte.
 */
import { expect } from "vitest";
import { ProtocolError } from "../../protocol";

/** `b` with bit `bit` (0 = least significant bit of byte 0) inverted; `b` is not changed. */
export function flip(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[bit >> 3] = (c[bit >> 3] as number) ^ (1 << (bit & 7));
  return c;
}

/**
 * Run `f` on every single-bit flip of `msg`; each must throw a ProtocolError in `allowed(byte)`.
 * @returns how many flips ended with each code
 */
export function everyFlip(
  msg: Uint8Array,
  allowed: (byte: number) => string[],
  f: (m: Uint8Array) => unknown,
): Map<string, number> {
  const seen = new Map<string, number>();
  for (let bit = 0; bit < msg.length * 8; bit++) {
    let err: unknown;
    try {
      f(flip(msg, bit));
    } catch (e) {
      err = e;
    }
    expect(err, `bit ${bit} accepted`).toBeInstanceOf(ProtocolError);
    const code = (err as ProtocolError).code;
    expect(allowed(bit >> 3), `bit ${bit}: ${code}`).toContain(code);
    seen.set(code, (seen.get(code) ?? 0) + 1);
  }
  return seen;
}
