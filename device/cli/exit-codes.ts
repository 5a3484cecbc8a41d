/**
 * Exit codes of the `iotguard` CLI, decided in this one place (docs/device.md § Exit codes).
 */
import { DeviceError, type DeviceErrorCode } from "../sdk";

export const ExitCode = {
  OK: 0,
  /** The head or the peer refused (the error code is printed). */
  REFUSED: 1,
  /** Bad usage or configuration (missing identity, wrong passphrase, bad argument). */
  USAGE: 2,
  /** A service (cluster head, broker) is unreachable; the message says how to start it. */
  UNREACHABLE: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_CODE: Record<DeviceErrorCode, ExitCode> = {
  E_HEAD_REFUSED: ExitCode.REFUSED,
  E_PEER_REFUSED: ExitCode.REFUSED,
  E_PEER_TIMEOUT: ExitCode.REFUSED,
  E_CONFIRMATION_TIMEOUT: ExitCode.REFUSED,
  E_HEAD_MISMATCH: ExitCode.REFUSED,
  E_BROKER_REFUSED: ExitCode.REFUSED,
  E_BROKER_TLS: ExitCode.USAGE,
  E_PLAINTEXT_BROKER: ExitCode.USAGE,
  E_HEAD_UNREACHABLE: ExitCode.UNREACHABLE,
  E_BROKER_UNREACHABLE: ExitCode.UNREACHABLE,
  E_CHAIN_UNREACHABLE: ExitCode.UNREACHABLE,
  E_NOT_INITIALISED: ExitCode.USAGE,
  E_ALREADY_INITIALISED: ExitCode.USAGE,
  E_BAD_PASSPHRASE: ExitCode.USAGE,
  E_NOT_JOINED: ExitCode.USAGE,
  E_NO_HEAD: ExitCode.USAGE,
  E_NO_TRUST_ANCHOR: ExitCode.USAGE,
  E_BAD_ARGUMENT: ExitCode.USAGE,
  E_CLOSED: ExitCode.USAGE,
  E_STORAGE: ExitCode.USAGE,
};

const HINTS: Partial<Record<DeviceErrorCode, string>> = {
  E_HEAD_UNREACHABLE:
    "start a cluster head with `npm run chain`, `npm run deploy` and `npm run cluster-head`, or check --head",
  E_BROKER_UNREACHABLE:
    "the embedded broker runs inside the cluster head (`npm run cluster-head`); for Mosquitto: `mosquitto -d`",
  E_CHAIN_UNREACHABLE:
    "start a local chain with `npm run chain` and `npm run deploy`, or check --rpc-url and --deployment/--registry",
};

/** The exit code and the one-line message (with the code, and a hint when there is one) for `error`. */
export function describeFailure(error: unknown): { exitCode: ExitCode; line: string; code: string } {
  if (error instanceof DeviceError) {
    const code = error.headCode ?? error.code;
    const hint = HINTS[error.code];
    return {
      exitCode: BY_CODE[error.code],
      code,
      line: `error ${code}: ${error.message}${hint ? `\nhint: ${hint}` : ""}`,
    };
  }
  return {
    exitCode: ExitCode.REFUSED,
    code: "E_INTERNAL",
    line: `error E_INTERNAL: ${(error as Error)?.message ?? String(error)}`,
  };
}
