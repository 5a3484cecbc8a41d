/**
 * The inbox envelope: `senderDeviceId (32 bytes) || protocol message`. MQTT does not tell a
 * subscriber who published, so the sender names itself; the embedded broker checks that the name
 * is the publisher's own, and the protocol's MACs and AEAD bind the real identities, so a lying
 * envelope on another broker only gets the message refused.
 */
export const SENDER_ID_BYTES = 32;
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

/** Splits an inbox payload. @throws EnvelopeError when it is too short to hold a message. */
export function decodeEnvelope(payload: Uint8Array): Envelope {
  if (payload.length < SENDER_ID_BYTES + MESSAGE_HEADER_BYTES)
    throw new EnvelopeError("inbox payload too short");
  const sender = payload.subarray(0, SENDER_ID_BYTES);
  return {
    senderId: Buffer.from(sender.buffer, sender.byteOffset, sender.length).toString("hex"),
    message: payload.subarray(SENDER_ID_BYTES),
    type: payload[SENDER_ID_BYTES + 1] as number,
  };
}
