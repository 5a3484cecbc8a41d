/**
 * The inbox envelope: `senderDeviceId (32 bytes) || protocol message`. MQTT does not tell a
 * subscriber who published, so the sender names itself; the embedded broker checks that the name
 * is the publisher's own, and the protocol's MACs and AEAD bind the real identities, so a lying
 * envelope on another broker only gets the message refused.
 *
 * The set-up payload: `targetDeviceId (32 bytes) || protocol message`, published by a device to its
 * own set-up topic (topics.ts `setupTopic`). The head relays the message to the target's inbox in an
 * envelope naming the sender it read from the topic (docs/mqtt.md § Session set-up through the head).
 */
export const SENDER_ID_BYTES = 32;
/** Length of the target device ID that starts a set-up payload. */
export const TARGET_ID_BYTES = 32;
/** Version and type bytes of the protocol message. */
const MESSAGE_HEADER_BYTES = 2;

/** Thrown for a payload that is not an envelope. */
export class EnvelopeError extends Error {
  readonly code = "E_MALFORMED";
  constructor(message: string) {
    super(message);
    this.name = "EnvelopeError";
  }
}

export interface Envelope {
  /** Sender's device ID, 64 lowercase hex. */
  senderId: string;
  /** The protocol message (a view into the payload). */
  message: Uint8Array;
  /** The protocol message type (byte 1 of the message). */
  type: number;
}

/** Wraps a protocol message for a peer's inbox. */
export function encodeEnvelope(senderId: Uint8Array, message: Uint8Array): Uint8Array {
  if (senderId.length !== SENDER_ID_BYTES) throw new EnvelopeError("senderId: expected 32 bytes");
  const out = new Uint8Array(SENDER_ID_BYTES + message.length);
  out.set(senderId, 0);
  out.set(message, SENDER_ID_BYTES);
  return out;
}

/**
 * A decoded inbox payload. The sender ID's hex is computed when first read: a receiver that
 * finds the session from the frame alone (one channel per connection) never pays for it. Like
 * `message`, it reads the payload's bytes, which the caller leaves unchanged while it uses the
 * envelope.
 */
class InboxEnvelope implements Envelope {
  private hex: string | undefined;
  constructor(
    private readonly payload: Uint8Array,
    readonly message: Uint8Array,
    readonly type: number,
  ) {}

  get senderId(): string {
    if (this.hex === undefined) {
      const { buffer, byteOffset } = this.payload;
      this.hex = Buffer.from(buffer, byteOffset, SENDER_ID_BYTES).toString("hex");
    }
    return this.hex;
  }
}

/** Splits an inbox payload. @throws EnvelopeError when it is too short to hold a message. */
export function decodeEnvelope(payload: Uint8Array): Envelope {
  if (payload.length < SENDER_ID_BYTES + MESSAGE_HEADER_BYTES)
    throw new EnvelopeError("inbox payload too short");
  return new InboxEnvelope(
    payload,
    // A plain view: `subarray` of an MQTT payload (a Buffer) would make a Buffer, dearer per message.
    new Uint8Array(payload.buffer, payload.byteOffset + SENDER_ID_BYTES, payload.length - SENDER_ID_BYTES),
    payload[SENDER_ID_BYTES + 1] as number,
  );
}

/** A set-up payload, split. */
export interface SetupPayload {
  /** The device the message is for, 64 lowercase hex. */
  targetId: string;
  /** The protocol message (a view into the payload). */
  message: Uint8Array;
  /** The protocol message type (byte 1 of the message). */
  type: number;
}

/** Wraps a session set-up message for the sender's own set-up topic. */
export function encodeSetupPayload(targetId: Uint8Array, message: Uint8Array): Uint8Array {
  if (targetId.length !== TARGET_ID_BYTES) throw new EnvelopeError("targetId: expected 32 bytes");
  const out = new Uint8Array(TARGET_ID_BYTES + message.length);
  out.set(targetId, 0);
  out.set(message, TARGET_ID_BYTES);
  return out;
}

/** Splits a set-up payload. @throws EnvelopeError when it is too short to hold a message. */
export function decodeSetupPayload(payload: Uint8Array): SetupPayload {
  if (payload.length < TARGET_ID_BYTES + MESSAGE_HEADER_BYTES)
    throw new EnvelopeError("set-up payload too short");
  const target = payload.subarray(0, TARGET_ID_BYTES);
  return {
    targetId: Buffer.from(target.buffer, target.byteOffset, target.length).toString("hex"),
    message: payload.subarray(TARGET_ID_BYTES),
    type: payload[TARGET_ID_BYTES + 1] as number,
  };
}
