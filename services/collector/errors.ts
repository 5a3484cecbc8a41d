/**
 * The collector's typed errors and their HTTP statuses, in one place (docs/telemetry.md § Errors).
 */

/** Codes a client of the readings API can see, with their HTTP status. */
export const COLLECTOR_ERROR_STATUS = {
  E_VALIDATION: 400,
  E_UNAUTHORIZED: 401,
  E_NOT_FOUND: 404,
  E_STORAGE: 503,
  E_INTERNAL: 500,
} as const;

export type CollectorErrorCode = keyof typeof COLLECTOR_ERROR_STATUS;
export const ALL_COLLECTOR_ERROR_CODES = Object.keys(COLLECTOR_ERROR_STATUS) as CollectorErrorCode[];

/** A refusal or failure with a stable code and a message safe to show to the client. */
export class CollectorError extends Error {
  constructor(
    readonly code: CollectorErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "CollectorError";
  }

  get status(): number {
    return COLLECTOR_ERROR_STATUS[this.code];
  }
}

/** Why the collector could not start; main.ts prints the message as one line. */
export const START_ERROR_EXIT = {
  /** A setting, the identity or the enrollment is missing or wrong: the operator fixes it. */
  E_CONFIG: 2,
  E_NOT_ENROLLED: 2,
  /** The database, head, chain or broker cannot be reached. */
  E_DATABASE_UNREACHABLE: 3,
  E_UNREACHABLE: 3,
} as const;

export type StartErrorCode = keyof typeof START_ERROR_EXIT;

export class CollectorStartError extends Error {
  constructor(
    readonly code: StartErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CollectorStartError";
  }

  /** The process exit code for this failure. */
  get exitCode(): number {
    return START_ERROR_EXIT[this.code];
  }
}
