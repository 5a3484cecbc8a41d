/**
 * The head's answer to a GrantRequest (docs/protocol.md §Session answer): M2's Grant alone when the
 * head delivered M1's Grant to M1 itself, the two Grants of a granted session when M2 must relay
 * M1's, or one GrantWarning. Both the head (which writes it) and M2 (which reads it) use this
 * codec; transports carry the bytes as they are (`POST /v1/sessions` body).
 *
 * The answer is self-describing: the type byte, the exact length and the role say which kind it
 * is, so no transport metadata is needed to read it.
 * @module
 */
import { abytes, equalBytes, peekType } from "../bytes";
import { MessageSize, MessageType, Role, Size } from "../constants";
import { ProtocolError } from "../errors";
import { decodeGrantWarning, grantRoleOf } from "./codec";

/** Which answer the head gave; also the value of the HTTP hint header `x-iotguard-outcome`. */
export const SessionAnswerKind = {
  /** Both Grants: M2 keeps its own and relays M1's (Otway–Rees; the fallback). */
  GRANT: "grant",
  /** M2's Grant only: the head delivered M1's Grant to M1 itself (docs/protocol.md § Direct delivery). */
  DELIVERED: "delivered",
  WARNING: "warning",
} as const;
/** A session answer kind. */
export type SessionAnswerKind = (typeof SessionAnswerKind)[keyof typeof SessionAnswerKind];

/** Exact encoded sizes of the two answers. */
export const SessionAnswerSize = {
  /** The responder's Grant, then the initiator's: 2 × 72 = 144. */
  GRANT: 2 * MessageSize.GRANT,
  /** The responder's Grant alone: 72. */
  DELIVERED: MessageSize.GRANT,
  /** One GrantWarning: 43. */
  WARNING: MessageSize.GRANT_WARNING,
} as const;

/**
 * Bytes of a Grant that both copies of one session share: suite, sessionId, issuedAt and expiresAt
 * (offsets 3..19; only role and the nonce hint differ, and the sealed key under each K_m).
 */
const GRANT_SHARED_START = Size.HEADER + 1;
const GRANT_SHARED_END = GRANT_SHARED_START + 1 + Size.SESSION_ID + Size.TIME_S + Size.TIME_S;

/** The head's answer to one GrantRequest. The byte arrays are whole protocol messages. */
export type SessionAnswer =
  | {
      kind: typeof SessionAnswerKind.GRANT;
      /** M2's Grant (role responder), for M2 itself. */
      toResponder: Uint8Array;
      /** M1's Grant (role initiator), which M2 forwards to M1 verbatim. */
      toInitiator: Uint8Array;
    }
  | {
      kind: typeof SessionAnswerKind.DELIVERED;
      /** M2's Grant (role responder); M1's went to M1 from the head. */
      toResponder: Uint8Array;
    }
  | {
      kind: typeof SessionAnswerKind.WARNING;
      /** The GrantWarning for M2. */
      warning: Uint8Array;
    };

/** Check that M2's Grant is well formed and in the responder's role. */
function checkResponderGrant(toResponder: Uint8Array): void {
  if (grantRoleOf(toResponder) !== Role.RESPONDER)
    throw new ProtocolError("E_MALFORMED", "first grant of a session answer is not the responder's");
}

/** Check that both Grants are well formed, in their roles, and describe one session. */
function checkGrantPair(toResponder: Uint8Array, toInitiator: Uint8Array): void {
  checkResponderGrant(toResponder);
  if (grantRoleOf(toInitiator) !== Role.INITIATOR)
    throw new ProtocolError("E_MALFORMED", "second grant of a session answer is not the initiator's");
  if (
    !equalBytes(
      toResponder.subarray(GRANT_SHARED_START, GRANT_SHARED_END),
      toInitiator.subarray(GRANT_SHARED_START, GRANT_SHARED_END),
    )
  )
    throw new ProtocolError("E_MALFORMED", "the grants of a session answer describe different sessions");
}

/**
 * Encode a session answer: `toResponder || toInitiator` (144 bytes), `toResponder` alone (72
 * bytes) or the GrantWarning (43 bytes).
 * @param answer - the head's decision, with whole encoded messages
 * @returns the answer bytes
 * @throws TypeError / RangeError when a part is not a Uint8Array of its message's size;
 *   ProtocolError E_MALFORMED when the parts are not the messages they claim to be (both are
 *   programming errors on the head)
 */
export function encodeSessionAnswer(answer: SessionAnswer): Uint8Array {
  if (answer.kind === SessionAnswerKind.WARNING) {
    abytes(answer.warning, MessageSize.GRANT_WARNING, "warning");
    decodeGrantWarning(answer.warning);
    return answer.warning.slice();
  }
  if (answer.kind === SessionAnswerKind.DELIVERED) {
    abytes(answer.toResponder, MessageSize.GRANT, "toResponder");
    checkResponderGrant(answer.toResponder);
    return answer.toResponder.slice();
  }
  abytes(answer.toResponder, MessageSize.GRANT, "toResponder");
  abytes(answer.toInitiator, MessageSize.GRANT, "toInitiator");
  checkGrantPair(answer.toResponder, answer.toInitiator);
  const out = new Uint8Array(SessionAnswerSize.GRANT);
  out.set(answer.toResponder, 0);
  out.set(answer.toInitiator, MessageSize.GRANT);
  return out;
}

/**
 * Decode a session answer. Strict: exactly one GrantWarning, exactly one Grant in the responder's
 * role, or exactly two Grants, the responder's first, that agree on suite, sessionId and times.
 * The Grants' AEAD and the warning's MAC are not checked here: `acceptGrant` / `acceptGrantWarning`
 * do that with the member's key (and M1 with its own, for the Grant M2 forwards).
 * @param bytes - the answer body
 * @returns the answer; its arrays are copies the caller owns
 * @throws ProtocolError E_MALFORMED on any other input
 */
export function decodeSessionAnswer(bytes: Uint8Array): SessionAnswer {
  const type = peekType(bytes); // E_MALFORMED for non-bytes, a short header or another version
  if (type === MessageType.GRANT_WARNING) {
    const warning = bytes.slice();
    decodeGrantWarning(warning); // exact length, version, reason code
    return { kind: SessionAnswerKind.WARNING, warning };
  }
  if (type === MessageType.GRANT && bytes.length === SessionAnswerSize.DELIVERED) {
    const toResponder = bytes.slice();
    checkResponderGrant(toResponder);
    return { kind: SessionAnswerKind.DELIVERED, toResponder };
  }
  if (type === MessageType.GRANT && bytes.length === SessionAnswerSize.GRANT) {
    const toResponder = bytes.slice(0, MessageSize.GRANT);
    const toInitiator = bytes.slice(MessageSize.GRANT);
    checkGrantPair(toResponder, toInitiator);
    return { kind: SessionAnswerKind.GRANT, toResponder, toInitiator };
  }
  throw new ProtocolError("E_MALFORMED", "not a session answer");
}
