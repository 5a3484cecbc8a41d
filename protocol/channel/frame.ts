/**
 * Channel frame codec (docs/protocol.md §Channel):
 * version (1) | type (1: direction) | suite (1) | short session ID (4) | seq (8, big-endian) |
 * ciphertext | tag (16). The 15-byte header is the AEAD AAD. Overhead 31 bytes.
 * @module
 */
import { beginMessage } from "../writer";
import {
  AeadSuite,
  MAX_FRAME_PLAINTEXT,
  MAX_MESSAGES_PER_KEY,
  MessageSize,
  MessageType,
  PROTOCOL_VERSION,
  Size,
} from "../constants";
import { ProtocolError } from "../errors";

// Read once: the frame path runs per message, and a bundler may turn each cross-module constant
// read into a getter call.
const HEADER_BYTES: number = MessageSize.FRAME_HEADER;
const TAG_BYTES: number = Size.TAG;
const SHORT_ID_BYTES: number = Size.SHORT_SESSION_ID;
const SEQ_OFFSET = 3 + SHORT_ID_BYTES;
const MAX_PLAINTEXT: number = MAX_FRAME_PLAINTEXT;
const MAX_SEQ_NUMBER = Number(MAX_MESSAGES_PER_KEY);
const VERSION: number = PROTOCOL_VERSION;
const FRAME_I2R: number = MessageType.FRAME_I2R;
const FRAME_R2I: number = MessageType.FRAME_R2I;
const SUITE_AES: number = AeadSuite.AES_256_GCM;
const SUITE_CHACHA: number = AeadSuite.CHACHA20_POLY1305;

/** The two frame types, one per direction. */
export type FrameType = typeof MessageType.FRAME_I2R | typeof MessageType.FRAME_R2I;

/** A decoded frame. */
export interface Frame {
  type: FrameType;
  suite: AeadSuite;
  /** First 4 bytes of the session ID; a view into the frame. */
  shortSessionId: Uint8Array;
  seq: bigint;
  /** The 15 header bytes exactly as received (the AAD); a view into the frame. */
  header: Uint8Array;
  /** ciphertext || tag; a view into the frame. */
  sealed: Uint8Array;
}

/** Encode a frame header. */
export function encodeFrameHeader(
  type: FrameType,
  suite: AeadSuite,
  shortSessionId: Uint8Array,
  seq: bigint,
): Uint8Array {
  return beginMessage(type)
    .u8(suite)
    .bytes(shortSessionId, Size.SHORT_SESSION_ID, "shortSessionId")
    .u64(seq)
    .finish();
}

/**
 * Write a frame header into the first {@link MessageSize.FRAME_HEADER} bytes of `out` (the same
 * bytes as {@link encodeFrameHeader}, without allocating): the sender's per-frame path.
 * @param seq - below 2^64 (the sender enforces {@link MAX_MESSAGES_PER_KEY})
 */
export function writeFrameHeader(
  out: Uint8Array,
  type: FrameType,
  suite: AeadSuite,
  shortSessionId: Uint8Array,
  seq: bigint,
): void {
  if (out.length < HEADER_BYTES) throw new RangeError("out: shorter than a frame header");
  if (shortSessionId.length !== SHORT_ID_BYTES)
    throw new RangeError(`shortSessionId: expected ${SHORT_ID_BYTES} bytes, got ${shortSessionId.length}`);
  if (seq < 0n || seq >= 1n << 64n) throw new RangeError("seq: out of range");
  out[0] = VERSION;
  out[1] = type;
  out[2] = suite;
  out.set(shortSessionId, 3);
  writeU64(out, SEQ_OFFSET, seq);
}

/** Big-endian u64 at `offset`, as two 32-bit halves (two BigInt operations instead of eight). */
function writeU64(out: Uint8Array, offset: number, v: bigint): void {
  const hi = Number(v >> 32n);
  const lo = Number(v & 0xffffffffn);
  out[offset] = hi >>> 24;
  out[offset + 1] = hi >>> 16;
  out[offset + 2] = hi >>> 8;
  out[offset + 3] = hi;
  out[offset + 4] = lo >>> 24;
  out[offset + 5] = lo >>> 16;
  out[offset + 6] = lo >>> 8;
  out[offset + 7] = lo;
}

/**
 * Decode a frame. `header`, `shortSessionId` and `sealed` are views into `b`, not copies: a
 * caller that keeps them past the next change to `b` copies them.
 * @throws ProtocolError E_MALFORMED when truncated, oversized, of unknown version/type/suite,
 *   or with a sequence number beyond the per-key limit
 */
export function decodeFrame(b: Uint8Array): Frame {
  const seq = checkFrame(b);
  // Plain views, not `subarray`: on a Node Buffer (an MQTT payload) that makes Buffers, dearer
  // per frame; and no helper closure, which a bundler may rebuild (and name) on every call.
  const { buffer, byteOffset } = b;
  return {
    type: b[1] as FrameType,
    suite: b[2] as AeadSuite,
    shortSessionId: new Uint8Array(buffer, byteOffset + 3, SHORT_ID_BYTES),
    seq: BigInt(seq),
    header: new Uint8Array(buffer, byteOffset, HEADER_BYTES),
    sealed: new Uint8Array(buffer, byteOffset + HEADER_BYTES, b.length - HEADER_BYTES),
  };
}

/**
 * The checks of {@link decodeFrame} without building anything: the channel receiver's per-frame
 * path, which then reads the type, suite and short session ID from the bytes themselves.
 * @returns the sequence number (below {@link MAX_MESSAGES_PER_KEY} = 2^32, so exact as a number)
 * @throws as {@link decodeFrame}
 */
export function checkFrame(b: Uint8Array): number {
  if (!(b instanceof Uint8Array)) throw new ProtocolError("E_MALFORMED", "not bytes");
  if (b.length < HEADER_BYTES + TAG_BYTES) throw new ProtocolError("E_MALFORMED", "truncated frame");
  if (b.length > HEADER_BYTES + MAX_PLAINTEXT + TAG_BYTES)
    throw new ProtocolError("E_MALFORMED", "oversized frame");
  if (b[0] !== VERSION) throw new ProtocolError("E_MALFORMED", "unknown version");
  const type = b[1] as number;
  if (type !== FRAME_I2R && type !== FRAME_R2I) throw new ProtocolError("E_MALFORMED", "not a frame");
  const suite = b[2] as number;
  // isAeadSuite's test, on constants read once (see the top of this module).
  if (suite !== SUITE_AES && suite !== SUITE_CHACHA)
    throw new ProtocolError("E_MALFORMED", "unknown AEAD suite");
  const seq = readU64(b, SEQ_OFFSET);
  if (seq >= MAX_SEQ_NUMBER) throw new ProtocolError("E_MALFORMED", "sequence number out of range");
  return seq;
}

/**
 * Big-endian u64 at `offset` as a number: exact below 2^53, and at or above 2^53 still at least
 * 2^53 (the caller only compares such values with the 2^32 limit).
 */
function readU64(b: Uint8Array, offset: number): number {
  const hi =
    (((b[offset] as number) << 24) |
      ((b[offset + 1] as number) << 16) |
      ((b[offset + 2] as number) << 8) |
      (b[offset + 3] as number)) >>>
    0;
  const lo =
    (((b[offset + 4] as number) << 24) |
      ((b[offset + 5] as number) << 16) |
      ((b[offset + 6] as number) << 8) |
      (b[offset + 7] as number)) >>>
    0;
  return hi * 0x1_0000_0000 + lo;
}

/**
 * Write the sequence number of a frame header (its last 8 bytes) into `header`, whose first 7
 * bytes the caller wrote once: the channel sender's per-frame path, without BigInt arithmetic.
 * @param seq - a checked counter below {@link MAX_MESSAGES_PER_KEY}
 */
export function writeFrameSeq(header: Uint8Array, seq: number): void {
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
  header[SEQ_OFFSET] = hi >>> 24;
  header[SEQ_OFFSET + 1] = hi >>> 16;
  header[SEQ_OFFSET + 2] = hi >>> 8;
  header[SEQ_OFFSET + 3] = hi;
  header[SEQ_OFFSET + 4] = lo >>> 24;
  header[SEQ_OFFSET + 5] = lo >>> 16;
  header[SEQ_OFFSET + 6] = lo >>> 8;
  header[SEQ_OFFSET + 7] = lo;
}
