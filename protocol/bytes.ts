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

/**
 * Append-only writer for fixed-layout messages. Fields are written into one growing buffer (not
 * an array per field then a concatenation): every protocol message goes through here, and the
 * small arrays were a visible share of the head's garbage per grant (issue 16).
 */
export class Writer {
  private buffer: Uint8Array;
  private length = 0;

  /**
   * @param capacity - bytes to start with; the buffer doubles when a field does not fit. V8 keeps
   *   typed arrays of up to 64 bytes on its heap, where they are much cheaper to make than larger
   *   ones, and most of the protocol's messages fit.
   */
  constructor(capacity = 64) {
    this.buffer = new Uint8Array(capacity);
  }

  /** Room for `n` more bytes; returns the offset to write them at. */
  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, at + n));
      grown.set(this.buffer.subarray(0, at));
      this.buffer = grown;
    }
    this.length = at + n;
    return at;
  }

  /** Append one byte. */
  u8(v: number): this {
    auint(v, 0xff, "u8");
    const at = this.reserve(1); // first: it may replace the buffer
    this.buffer[at] = v;
    return this;
  }

  /** Append a big-endian uint32. */
  u32(v: number): this {
    auint(v, MAX_U32, "u32");
    this.writeU32(this.reserve(4), v);
    return this;
  }

  /** Append a big-endian int32. */
  i32(v: number): this {
    if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError("i32: out of range");
    this.writeU32(this.reserve(4), v >>> 0); // two's complement: the same four bytes
    return this;
  }

  /** Append a big-endian uint64 (bigint or safe integer). */
  u64(v: bigint | number): this {
    let high: number;
    let low: number;
    if (typeof v === "number") {
      auint(v, Number.MAX_SAFE_INTEGER, "u64");
      high = Math.floor(v / 2 ** 32);
      low = v >>> 0;
    } else {
      if (v < 0n || v > MAX_U64) throw new RangeError("u64: out of range");
      high = Number(v >> 32n);
      low = Number(v & 0xffff_ffffn);
    }
    const at = this.reserve(8);
    this.writeU32(at, high);
    this.writeU32(at + 4, low);
    return this;
  }

  /** Append raw bytes, optionally checking their length. */
  bytes(v: Uint8Array, length?: number, field = "bytes"): this {
    abytes(v, length, field);
    const at = this.reserve(v.length); // first: it may replace the buffer
    this.buffer.set(v, at);
    return this;
  }

  /** The written bytes (a copy the caller owns). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private writeU32(at: number, v: number): void {
    const b = this.buffer;
    b[at] = v >>> 24;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
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
