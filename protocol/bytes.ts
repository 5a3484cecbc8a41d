/**
 * Strict byte reader and writer, hex helpers, constant-time comparison and argument checks.
 * Decoders use {@link Reader}: every short read and every trailing byte is E_MALFORMED.
 * @module
 */
import { PROTOCOL_VERSION } from "./constants";
import { ProtocolError } from "./errors";

const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;

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

/** ASCII/UTF-8 bytes of a label. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
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

/** Append-only writer for fixed-layout messages. */
export class Writer {
  private readonly parts: Uint8Array[] = [];

  /** Append one byte. */
  u8(v: number): this {
    this.parts.push(Uint8Array.of(auint(v, 0xff, "u8")));
    return this;
  }

  /** Append a big-endian uint32. */
  u32(v: number): this {
    auint(v, MAX_U32, "u32");
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    this.parts.push(b);
    return this;
  }

  /** Append a big-endian int32. */
  i32(v: number): this {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError("i32: out of range");
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v);
    this.parts.push(b);
    return this;
  }

  /** Append a big-endian uint64 (bigint or safe integer). */
  u64(v: bigint | number): this {
    const x = typeof v === "number" ? BigInt(auint(v, Number.MAX_SAFE_INTEGER, "u64")) : v;
    if (x < 0n || x > MAX_U64) throw new RangeError("u64: out of range");
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, x);
    this.parts.push(b);
    return this;
  }

  /** Append raw bytes, optionally checking their length. */
  bytes(v: Uint8Array, length?: number, field = "bytes"): this {
    this.parts.push(abytes(v, length, field));
    return this;
  }

  /** The written bytes. */
  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

/** Strict reader: any short read or leftover byte is E_MALFORMED. */
export class Reader {
  private offset = 0;

  /** @param data - the bytes to read; not copied */
  constructor(private readonly data: Uint8Array) {}

  private take(n: number): Uint8Array {
    if (this.offset + n > this.data.length) throw new ProtocolError("E_MALFORMED", "truncated message");
    const out = this.data.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Read one byte. */
  u8(): number {
    return this.take(1)[0] as number;
  }

  /** Read a big-endian uint32. */
  u32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  /** Read a big-endian int32. */
  i32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getInt32(0);
  }

  /** Read a big-endian uint64 as bigint. */
  u64(): bigint {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  }

  /** Read a uint64 millisecond time; values beyond Number.MAX_SAFE_INTEGER are malformed. */
  time(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError("E_MALFORMED", "time out of range");
    return Number(v);
  }

  /** Read `n` bytes (a copy, so callers may keep or wipe it). */
  bytes(n: number): Uint8Array {
    return this.take(n).slice();
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

/** Start a message with the version and type bytes. */
export function beginMessage(type: number): Writer {
  return new Writer().u8(PROTOCOL_VERSION).u8(type);
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
