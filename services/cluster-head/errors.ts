/**
 * The head's typed errors and the one place where every code becomes an HTTP status. Protocol
 * refusals keep their protocol codes; transport and service failures have their own.
 */
import { ERROR_CODE_LIST as PROTOCOL_CODES, type ErrorCode as ProtocolCode } from "../../protocol";

/** Codes the service adds to the protocol's. */
export const SERVICE_ERROR_STATUS = {
  E_VALIDATION: 400,
  E_UNSUPPORTED_MEDIA_TYPE: 415,
  E_PAYLOAD_TOO_LARGE: 413,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_OPERATOR_EXISTS: 409,
  E_RATE_LIMITED: 429,
  E_HEAD_BUSY: 503,
  E_NOT_FOUND: 404,
  E_ALREADY_ENROLLED: 409,
  E_BAD_PROOF: 400,
  E_CHAIN_REJECTED: 409,
  E_CHAIN_UNAVAILABLE: 503,
  E_CHAIN_MISMATCH: 503,
  E_INDEX_NOT_READY: 503,
  E_ENROLLMENT_PENDING: 409,
  E_STORAGE: 503,
  E_BROKER_ADMIN_UNAVAILABLE: 503,
  E_COLLECTOR_NOT_CONFIGURED: 404,
  E_COLLECTOR_UNAVAILABLE: 503,
  E_INTERNAL: 500,
} as const;

/** HTTP status of each protocol refusal. */
export const PROTOCOL_ERROR_STATUS: Record<ProtocolCode, number> = {
  E_MALFORMED: 400,
  E_UNSUPPORTED: 400,
  E_BAD_SIGNATURE: 401,
  E_BAD_MAC: 401,
  E_BAD_TAG: 401,
  E_REPLAY: 409,
  E_EXPIRED: 401,
  E_NOT_MEMBER: 403,
  E_REVOKED: 403,
  E_WRONG_CLUSTER: 403,
  E_OUTSIDE_RADIUS: 403,
  E_UNKNOWN_CHALLENGE: 401,
  E_UNKNOWN_NONCE: 409,
  E_REFLECTION: 400,
  E_WRONG_SESSION: 400,
  E_WRONG_DIRECTION: 400,
  E_LIMIT: 429,
  E_BAD_STATE: 409,
  E_SUITE_REFUSED: 403,
};

export type ServiceCode = keyof typeof SERVICE_ERROR_STATUS;
export type HeadErrorCode = ServiceCode | ProtocolCode;

/** Every code a client of the head can see (the API docs are checked against this list). */
export const ALL_HEAD_ERROR_CODES: readonly HeadErrorCode[] = [
  ...(Object.keys(SERVICE_ERROR_STATUS) as ServiceCode[]),
  ...PROTOCOL_CODES,
];

/** A refusal or failure with a stable code and a message safe to show to the client. */
export class HeadError extends Error {
  constructor(
    readonly code: HeadErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "HeadError";
  }

  get status(): number {
    return statusOf(this.code);
  }
}

/** The HTTP status for a code. */
export function statusOf(code: HeadErrorCode): number {
  return (
    (SERVICE_ERROR_STATUS as Record<string, number>)[code] ??
    PROTOCOL_ERROR_STATUS[code as ProtocolCode] ??
    500
  );
}
