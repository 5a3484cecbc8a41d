/**
 * The writer of fixed-layout protocol messages ({@link Writer}) and {@link beginMessage}.
 * @module
 */
import { abytes, auint } from "./bytes";
import { PROTOCOL_VERSION } from "./constants";

const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;

/** Bytes of each pooled Writer buffer: every classic protocol message fits. */
const POOLED_BUFFER_BYTES = 256;
/** Pooled buffers kept at most (Writers are short-lived and rarely nested). */
const POOL_SIZE = 16;
const pool: Uint8Array[] = [];

/**
 * Append-only writer for fixed-layout messages. Fields are written into one buffer taken from a
 * small pool (not an array per field then a concatenation, nor a fresh buffer per message): every
 * protocol message goes through here, and those allocations were a visible share of the head's
 * CPU per grant (issue 16). {@link finish} hands out a copy and returns the buffer, wiped, to the
 * pool; a Writer written on after that continues in a private buffer.
 */
export class Writer {
  private buffer: Uint8Array;
  private length = 0;
  private pooled: boolean;

  constructor() {
    const reused = pool.pop();
    this.pooled = true;
    this.buffer = reused ?? new Uint8Array(POOLED_BUFFER_BYTES);
  }

  /** Room for `n` more bytes; returns the offset to write them at. */
  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, at + n));
      grown.set(this.buffer.subarray(0, at));
      this.release();
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
    const out = this.buffer.slice(0, this.length);
    this.release();
    this.buffer = out; // full: a later field grows it into a new buffer, never writes into `out`
    return out;
  }

  /** Gives a pooled buffer back, wiped (a message may hold a nonce or a key's public half). */
  private release(): void {
    if (!this.pooled) return;
    this.pooled = false;
    if (pool.length < POOL_SIZE) {
      this.buffer.fill(0, 0, this.length);
      pool.push(this.buffer);
    }
  }

  private writeU32(at: number, v: number): void {
    const b = this.buffer;
    b[at] = v >>> 24;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }
}

/** Start a message with the version and type bytes. */
export function beginMessage(type: number): Writer {
  return new Writer().u8(PROTOCOL_VERSION).u8(type);
}
