/**
 * Channel frame codec (docs/protocol.md §Channel):
 * version (1) | type (1: direction) | suite (1) | short session ID (4) | seq (8, big-endian) |
 * ciphertext | tag (16). The 15-byte header is the AEAD AAD. Overhead 31 bytes.
 * @module
 */
import { beginMessage, Reader } from "../bytes";
import {
  type AeadSuite,
  isAeadSuite,
  MAX_FRAME_PLAINTEXT,
  MAX_MESSAGES_PER_KEY,
  MessageSize,
  MessageType,
  PROTOCOL_VERSION,
  Size,
} from "../constants";
import { ProtocolError } from "../errors";

/** The two frame types, one per direction. */
export type FrameType = typeof MessageType.FRAME_I2R | typeof MessageType.FRAME_R2I;

/** A decoded frame. */
export interface Frame {
  type: FrameType;
  suite: AeadSuite;
  /** First 4 bytes of the session ID. */
  shortSessionId: Uint8Array;
  seq: bigint;
  /** The 15 header bytes exactly as received (the AAD). */
  header: Uint8Array;
  /** ciphertext || tag. */
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
 * Decode a frame.
 * @throws ProtocolError E_MALFORMED when truncated, oversized, of unknown version/type/suite,
 *   or with a sequence number beyond the per-key limit
 */
export function decodeFrame(b: Uint8Array): Frame {
  if (!(b instanceof Uint8Array)) throw new ProtocolError("E_MALFORMED", "not bytes");
  if (b.length < MessageSize.FRAME_HEADER + Size.TAG)
    throw new ProtocolError("E_MALFORMED", "truncated frame");
  if (b.length > MessageSize.FRAME_HEADER + MAX_FRAME_PLAINTEXT + Size.TAG)
    throw new ProtocolError("E_MALFORMED", "oversized frame");
  const r = new Reader(b);
  if (r.u8() !== PROTOCOL_VERSION) throw new ProtocolError("E_MALFORMED", "unknown version");
  const type = r.u8();
  if (type !== MessageType.FRAME_I2R && type !== MessageType.FRAME_R2I)
    throw new ProtocolError("E_MALFORMED", "not a frame");
  const suite = r.u8();
  if (!isAeadSuite(suite)) throw new ProtocolError("E_MALFORMED", "unknown AEAD suite");
  const shortSessionId = r.bytes(Size.SHORT_SESSION_ID);
  const seq = r.u64();
  if (seq >= MAX_MESSAGES_PER_KEY) throw new ProtocolError("E_MALFORMED", "sequence number out of range");
  const header = b.slice(0, MessageSize.FRAME_HEADER);
  const sealed = r.bytes(b.length - MessageSize.FRAME_HEADER);
  r.end();
  return { type, suite, shortSessionId, seq, header, sealed };
}
