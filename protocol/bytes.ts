/**
 * Strict byte reader, hex helpers, constant-time comparison and argument checks (the writer is
 * writer.ts).
 * Decoders use {@link Reader}: every short read and every trailing byte is E_MALFORMED.
 * @module
 */
import { PROTOCOL_VERSION } from "./constants";
import { ProtocolError } from "./errors";

/**
 * Check that an argument is a Uint8Array of the given length; a programming error otherwise.
 * @param value - the argument
 * @param length - required length (undefined: any length)
 * @param field - field name used in the error message
 * @throws TypeError when `value` is not a Uint8Array; RangeError on the wrong length
 */
export function abytes(value: unknown, length: number | undefined, field: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${field}: expected Uint8Array`);
  if (length !== undefined && value.length !== length)
    throw new RangeError(`${field}: expected ${length} bytes, got ${value.length}`);
  return value;
}

/**
 * Check that an argument is a safe non-negative integer not above `max`.
 * @throws RangeError naming the field
 */
export function auint(value: number, max: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > max)
    throw new RangeError(`${field}: expected integer in [0, ${max}]`);
  return value;
}

/**
 * Constant-time equality of two byte arrays (time depends only on the lengths).
 * @returns true when both have the same length and content
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Concatenate byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const encoder = new TextEncoder();

/** ASCII/UTF-8 bytes of a label (a fresh array the caller may keep). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

const labels = new Map<string, Uint8Array>();

/**
 * UTF-8 bytes of a domain-separation label, encoded once per label and shared: only for inputs
 * that are copied at once (concatenated, hashed), never handed out or written to. The labels are
 * the fixed strings of constants.ts, so the cache stays that small.
 */
export function labelBytes(label: string): Uint8Array {
  let bytes = labels.get(label);
  if (bytes === undefined) {
    bytes = encoder.encode(label);
    labels.set(label, bytes);
  }
  return bytes;
}

const HEX_DIGITS = encoder.encode("0123456789abcdef");
const asciiDecoder = new TextDecoder();

/**
 * Lower-case hex of bytes, as one flat string: built by appending two characters at a time, V8
 * kept a chain of pieces (~1.3 KB for 16 bytes) for as long as the string lived, and the head keeps
 * many of them as map keys (device tags, session IDs, replay keys; heap snapshots, issue 16).
 */
export function toHex(b: Uint8Array): string {
  const digits = new Uint8Array(b.length * 2);
  for (let i = 0; i < b.length; i++) {
    const x = b[i] as number;
    digits[2 * i] = HEX_DIGITS[x >> 4] as number;
    digits[2 * i + 1] = HEX_DIGITS[x & 0x0f] as number;
  }
  return asciiDecoder.decode(digits);
}

/**
 * Parse lower- or upper-case hex (optional 0x prefix).
 * @throws ProtocolError E_MALFORMED on odd length or non-hex characters
 */
export function fromHex(hex: string): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new ProtocolError("E_MALFORMED", "bad hex");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Overwrite secret bytes we own (best effort in JavaScript). */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

/** Strict reader: any short read or leftover byte is E_MALFORMED. */
export class Reader {
  private offset = 0;

  /** @param data - the bytes to read; not copied */
  constructor(private readonly data: Uint8Array) {}

  /** Consumes `n` bytes; returns their offset. */
  private advance(n: number): number {
    const at = this.offset;
    if (at + n > this.data.length) throw new ProtocolError("E_MALFORMED", "truncated message");
    this.offset = at + n;
    return at;
  }

  // The integers are read from the bytes directly, not through a subarray and a DataView: every
  // field of every message goes through here, and those two objects were most of a decode's garbage.

  /** Read one byte. */
  u8(): number {
    return this.data[this.advance(1)] as number;
  }

  /** Read a big-endian uint32. */
  u32(): number {
    const at = this.advance(4);
    const d = this.data;
    return (
      (d[at] as number) * 0x100_0000 +
      (((d[at + 1] as number) << 16) | ((d[at + 2] as number) << 8) | (d[at + 3] as number))
    );
  }

  /** Read a big-endian int32. */
  i32(): number {
    return this.u32() | 0; // two's complement: the same four bytes
  }

  /** Read a big-endian uint64 as bigint. */
  u64(): bigint {
    const high = this.u32();
    return (BigInt(high) << 32n) | BigInt(this.u32());
  }

  /** Read a uint64 millisecond time; values beyond Number.MAX_SAFE_INTEGER are malformed. */
  time(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError("E_MALFORMED", "time out of range");
    return Number(v);
  }

  /** Read `n` bytes (a copy, so callers may keep or wipe it). */
  bytes(n: number): Uint8Array {
    const at = this.advance(n);
    return this.data.slice(at, at + n);
  }

  /** Fail unless every byte was consumed (no trailing garbage). */
  end(): void {
    if (this.offset !== this.data.length) throw new ProtocolError("E_MALFORMED", "trailing bytes");
  }
}

/**
 * Open a message: check it is a Uint8Array of exactly `size` bytes (when given),
 * that byte 0 is our version and byte 1 is `type`.
 * @throws ProtocolError E_MALFORMED on wrong length, type or version
 */
export function openMessage(data: Uint8Array, type: number, size?: number): Reader {
  if (!(data instanceof Uint8Array)) throw new ProtocolError("E_MALFORMED", "not bytes");
  if (data.length < 2) throw new ProtocolError("E_MALFORMED", "truncated message");
  const r = new Reader(data);
  const version = r.u8();
  // Only version 1 exists; any other value is an unknown format, not a negotiable one.
  if (version !== PROTOCOL_VERSION) throw new ProtocolError("E_MALFORMED", "unknown version");
  if (r.u8() !== type) throw new ProtocolError("E_MALFORMED", "unexpected message type");
  if (size !== undefined && data.length !== size)
    throw new ProtocolError("E_MALFORMED", "wrong message length");
  return r;
}

/**
 * Read the message type of any protocol message without decoding it (for dispatchers).
 * @throws ProtocolError E_MALFORMED when shorter than the header or of an unknown version
 */
export function peekType(data: Uint8Array): number {
  if (!(data instanceof Uint8Array) || data.length < 2)
    throw new ProtocolError("E_MALFORMED", "truncated message");
  if (data[0] !== PROTOCOL_VERSION) throw new ProtocolError("E_MALFORMED", "unknown version");
  return data[1] as number;
}
