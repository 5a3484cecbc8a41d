/**
 * The M2M channel: a sender and a receiver per member, built from a {@link GrantedSession}.
 * The first frame that verifies in each direction confirms that the peer holds Sk.
 * @module
 */
import { abytes, wipe } from "../bytes";
import {
  type AeadSuite,
  isAeadSuite,
  MAX_FRAME_PLAINTEXT,
  MAX_MESSAGES_PER_KEY,
  MessageSize,
  MessageType,
  Role,
  Size,
} from "../constants";
import { symmetric } from "../crypto/backend";
import { ProtocolError } from "../errors";
import type { GrantedSession } from "../grant/member";
import { checkFrame, type FrameType, writeFrameHeader, writeFrameSeq } from "./frame";
import { type DirectionKeys, deriveDirectionKeys, writeFrameNonce } from "./keys";
import { ReplayWindow } from "./replay";
import { frameBytes } from "./slab";

// The per-frame functions of other modules, read once: a bundler or loader that compiles imports
// into getters on a module object (esbuild, under tsx) otherwise costs a getter call per use, and
// the profile of the m2m peers showed them (bench/lib/m2m-profile.ts).
const writeSeq = writeFrameSeq;
const writeNonce = writeFrameNonce;
const checkFrameBytes = checkFrame;
const backend = symmetric;
const cutFrame = frameBytes;

// Read once: seal and open run per message (see frame.ts).
const HEADER_BYTES: number = MessageSize.FRAME_HEADER;
const MAX_PLAINTEXT: number = MAX_FRAME_PLAINTEXT;
const MAX_SEQ: bigint = MAX_MESSAGES_PER_KEY;
const MAX_SEQ_NUMBER = Number(MAX_MESSAGES_PER_KEY);
const SHORT_ID_BYTES: number = Size.SHORT_SESSION_ID;
const TAG_BYTES: number = Size.TAG;
const KEY_BYTES: number = Size.AEAD_KEY;
const NONCE_BYTES: number = Size.AEAD_NONCE;
const NO_PREFIX = new Uint8Array(0);

/**
 * The checks the AEAD wrappers (crypto/aead.ts) would make on every frame, made once per endpoint:
 * a known suite, a 32-byte key, a 12-byte IV and a 4-byte short session ID.
 * @throws ProtocolError E_UNSUPPORTED for an unknown suite; RangeError/TypeError for a wrong length
 */
function checkParams(p: Params): void {
  if (!isAeadSuite(p.suite)) throw new ProtocolError("E_UNSUPPORTED", "unknown AEAD suite");
  abytes(p.keys.key, KEY_BYTES, "key");
  abytes(p.keys.iv, NONCE_BYTES, "iv");
  abytes(p.shortSessionId, SHORT_ID_BYTES, "shortSessionId");
}

/** Lifecycle of a channel endpoint. */
export const ChannelState = {
  OPEN: 1,
  CLOSED: 2,
} as const;
/** A channel state. */
export type ChannelState = (typeof ChannelState)[keyof typeof ChannelState];

interface Params {
  type: FrameType;
  suite: AeadSuite;
  shortSessionId: Uint8Array;
  expiresAt: number;
  keys: DirectionKeys;
}

/** Encrypts frames in our direction. Sequence numbers strictly increase and are never reused. */
export class ChannelSender {
  private state: ChannelState = ChannelState.OPEN;
  /**
   * The next sequence number, as a number: below {@link MAX_MESSAGES_PER_KEY} = 2^32 it is exact,
   * and the per-frame path needs no BigInt arithmetic.
   */
  private next: number;
  /**
   * Scratch for the AAD and the nonce of the frame being sealed: the header's first 7 bytes
   * (version, type, suite, short session ID) are the channel's own and written once; its sequence
   * number and the whole nonce are rewritten from the frame's own sequence number before each
   * use, and both are read synchronously by the AEAD, so the counter stays the only nonce source.
   */
  private readonly header = new Uint8Array(HEADER_BYTES);
  private readonly nonce = new Uint8Array(Size.AEAD_NONCE);

  /** @internal use {@link createChannel} */
  constructor(
    private readonly p: Params,
    startSeq = 0n,
  ) {
    if (startSeq < 0n) throw new RangeError("startSeq: must be >= 0");
    checkParams(p);
    // At or beyond the limit every seal fails with E_LIMIT; the number only has to stay there.
    this.next = startSeq >= MAX_SEQ ? MAX_SEQ_NUMBER : Number(startSeq);
    writeFrameHeader(this.header, p.type, p.suite, p.shortSessionId, 0n);
  }

  /** The sequence number the next {@link seal} without `seq` will use. */
  get nextSeq(): bigint {
    return BigInt(this.next);
  }

  /**
   * Encrypt one message.
   * @param plaintext - at most {@link MAX_FRAME_PLAINTEXT} bytes
   * @param now - unix ms
   * @param seq - explicit sequence number (e.g. from a SequenceReservation); must exceed every
   *   number used before. Default: the next one.
   * @throws ProtocolError E_BAD_STATE (closed or seq not increasing), E_EXPIRED, E_LIMIT
   */
  seal(plaintext: Uint8Array, now: number, seq?: bigint): Uint8Array {
    return this.sealWithPrefix(NO_PREFIX, plaintext, now, seq);
  }

  /**
   * {@link seal}, returning `prefix || frame` in one array, so that a caller who sends the frame
   * behind a few bytes of its own (an inbox envelope's sender ID) does not copy it again.
   * The frame and its AAD are exactly those of {@link seal}; `prefix` is not authenticated.
   * @throws as {@link seal}
   */
  sealWithPrefix(prefix: Uint8Array, plaintext: Uint8Array, now: number, seq?: bigint): Uint8Array {
    if (!(prefix instanceof Uint8Array)) throw new TypeError("prefix: expected Uint8Array");
    if (this.state !== ChannelState.OPEN) throw new ProtocolError("E_BAD_STATE", "channel closed");
    if (!(plaintext instanceof Uint8Array)) throw new TypeError("plaintext: expected Uint8Array");
    if (plaintext.length > MAX_PLAINTEXT) throw new RangeError("plaintext: too long for one frame");
    if (now >= this.p.expiresAt) throw new ProtocolError("E_EXPIRED", "session expired; re-grant");
    let s = this.next;
    if (seq !== undefined) {
      if (typeof seq !== "bigint") throw new TypeError("seq: expected bigint");
      if (seq < s) throw new ProtocolError("E_BAD_STATE", "sequence number already used");
      s = seq >= MAX_SEQ ? MAX_SEQ_NUMBER : Number(seq);
    }
    if (s >= MAX_SEQ_NUMBER) throw new ProtocolError("E_LIMIT", "message limit reached; re-grant");
    const { header, nonce } = this;
    writeSeq(header, s);
    // Advance before sealing so even an exception cannot lead to the number being used twice.
    this.next = s + 1;
    writeNonce(nonce, this.p.keys.iv, s);
    // One array for prefix || header || ciphertext || tag; the AEAD writes into its tail.
    const at = prefix.length;
    const out = cutFrame(at + HEADER_BYTES + plaintext.length + TAG_BYTES);
    out.set(prefix, 0);
    out.set(header, at);
    const sealed = new Uint8Array(
      out.buffer,
      out.byteOffset + at + HEADER_BYTES,
      plaintext.length + TAG_BYTES,
    );
    // The AEAD's argument checks (crypto/aead.ts) hold by construction: key and IV lengths and
    // the suite were checked when the channel was built, the nonce and the header are our own
    // scratch of fixed length, and `sealed` is cut to the plaintext's length plus the tag.
    const aead = backend();
    if (aead.aeadSealInto) aead.aeadSealInto(this.p.suite, this.p.keys.key, nonce, plaintext, header, sealed);
    else sealed.set(aead.aeadSeal(this.p.suite, this.p.keys.key, nonce, plaintext, header));
    return out;
  }

  /** Wipe keys; further use fails with E_BAD_STATE. */
  close(): void {
    wipe(this.p.keys.key, this.p.keys.iv);
    this.state = ChannelState.CLOSED;
  }
}

/** Decrypts frames from the peer, with a replay window and atomic check-then-commit. */
export class ChannelReceiver {
  private state: ChannelState = ChannelState.OPEN;
  private readonly window = new ReplayWindow();
  /** Scratch for the nonce of the frame being opened, recomputed from its sequence number. */
  private readonly nonce = new Uint8Array(Size.AEAD_NONCE);
  /** Frames of this type were encrypted by us: receiving one means it was reflected. */
  private readonly ownSendType: FrameType;
  private readonly sid: Uint8Array;
  private isConfirmed = false;

  /** @internal use {@link createChannel} */
  constructor(private readonly p: Params) {
    this.ownSendType = p.type === MessageType.FRAME_I2R ? MessageType.FRAME_R2I : MessageType.FRAME_I2R;
    checkParams(p);
    this.sid = p.shortSessionId;
  }

  /** True once a frame from the peer verified: the peer holds Sk (key confirmation). */
  get confirmed(): boolean {
    return this.isConfirmed;
  }

  /**
   * Verify and decrypt one frame.
   * Order: state, decode, direction, session, suite, lifetime, replay check, tag, commit.
   * @returns the sequence number and plaintext
   * @throws ProtocolError E_BAD_STATE, E_MALFORMED, E_WRONG_DIRECTION (our own direction, e.g.
   *   a reflected frame), E_WRONG_SESSION, E_UNSUPPORTED (suite), E_EXPIRED, E_REPLAY, E_BAD_TAG
   */
  open(frame: Uint8Array, now: number): { seq: bigint; plaintext: Uint8Array } {
    if (this.state !== ChannelState.OPEN) throw new ProtocolError("E_BAD_STATE", "channel closed");
    // decodeFrame's checks, then the fields read from the bytes (no views but the two the AEAD takes).
    const n = checkFrameBytes(frame);
    if (frame[1] === this.ownSendType)
      throw new ProtocolError("E_WRONG_DIRECTION", "frame from our own direction");
    const sid = this.sid;
    if (((frame[3]! ^ sid[0]!) | (frame[4]! ^ sid[1]!) | (frame[5]! ^ sid[2]!) | (frame[6]! ^ sid[3]!)) !== 0)
      throw new ProtocolError("E_WRONG_SESSION", "frame for another session");
    if (frame[2] !== this.p.suite) throw new ProtocolError("E_UNSUPPORTED", "suite differs from the grant");
    if (now >= this.p.expiresAt) throw new ProtocolError("E_EXPIRED", "session expired; re-grant");
    this.window.check(n);
    writeNonce(this.nonce, this.p.keys.iv, n);
    const { buffer, byteOffset } = frame;
    // As in the sender, the AEAD's argument checks hold by construction (checkFrame guarantees at
    // least a header and a tag); libsodium, node:crypto and @noble compare the tag in constant time.
    const plaintext = backend().aeadOpen(
      this.p.suite,
      this.p.keys.key,
      this.nonce,
      new Uint8Array(buffer, byteOffset + HEADER_BYTES, frame.length - HEADER_BYTES),
      new Uint8Array(buffer, byteOffset, HEADER_BYTES),
    );
    if (plaintext === undefined) throw new ProtocolError("E_BAD_TAG", "authentication failed");
    // RFC 8613 §7.4: update the window only after the frame verified.
    this.window.commit(n);
    this.isConfirmed = true;
    return { seq: BigInt(n), plaintext };
  }

  /** Wipe keys; further use fails with E_BAD_STATE. */
  close(): void {
    wipe(this.p.keys.key, this.p.keys.iv);
    this.state = ChannelState.CLOSED;
  }
}

/** Both endpoints of one member's channel. */
export interface Channel {
  sender: ChannelSender;
  receiver: ChannelReceiver;
  sessionId: Uint8Array;
  expiresAt: number;
}

/** Options for {@link createChannel}. */
export interface CreateChannelOptions {
  /** First sequence number to send (from a SequenceReservation after a restart). Default 0. */
  startSeq?: bigint;
  /** Keep `session.sessionKey` instead of wiping it (e.g. to persist it). Default false. */
  keepSessionKey?: boolean;
}

/**
 * Build the channel for a granted session. The initiator sends FRAME_I2R, the responder FRAME_R2I.
 * By default Sk is wiped once both direction keys are derived.
 */
export function createChannel(session: GrantedSession, opts: CreateChannelOptions = {}): Channel {
  abytes(session.sessionId, Size.SESSION_ID, "sessionId");
  const sendType: FrameType = session.role === Role.INITIATOR ? MessageType.FRAME_I2R : MessageType.FRAME_R2I;
  const recvType: FrameType =
    sendType === MessageType.FRAME_I2R ? MessageType.FRAME_R2I : MessageType.FRAME_I2R;
  const shortSessionId = session.sessionId.slice(0, Size.SHORT_SESSION_ID);
  const base = { suite: session.suite, shortSessionId, expiresAt: session.expiresAt };
  const sender = new ChannelSender(
    {
      ...base,
      type: sendType,
      keys: deriveDirectionKeys(session.sessionKey, session.sessionId, session.suite, sendType),
    },
    opts.startSeq ?? 0n,
  );
  const receiver = new ChannelReceiver({
    ...base,
    type: recvType,
    keys: deriveDirectionKeys(session.sessionKey, session.sessionId, session.suite, recvType),
  });
  if (!opts.keepSessionKey) wipe(session.sessionKey);
  return { sender, receiver, sessionId: session.sessionId, expiresAt: session.expiresAt };
}
