/**
 * Typed device errors with stable codes (docs/device.md § Errors). The CLI maps each code to an
 * exit status in one place (`device/cli/exit-codes.ts`). Messages never contain key material,
 * tokens or broker passwords.
 */

/** Every code a {@link DeviceError} can carry, with its meaning. */
export const DEVICE_ERROR_CODES = {
  E_NOT_INITIALISED: "no identity in the data directory: run `iotguard device init`",
  E_ALREADY_INITIALISED: "the data directory already holds an identity",
  E_BAD_PASSPHRASE: "the passphrase does not open the stored keys (or one is needed)",
  E_NOT_JOINED: "no current membership: run `iotguard device join`",
  E_NO_HEAD:
    "no cluster head known for this device: give the head URL (--head), and enroll the device on chain first",
  E_NO_TRUST_ANCHOR:
    "nothing to verify the head against: give the registry (--rpc-url with --deployment or --registry) or the head address (--head-address); a broker on another host than the head needs --broker-url",
  E_HEAD_MISMATCH: "the head's address differs from the one the chain (or --head-address, or the pin) names",
  E_HEAD_REFUSED: "the cluster head refused the request; `headCode` holds its error code",
  E_HEAD_UNREACHABLE: "the cluster head could not be reached",
  E_CHAIN_UNREACHABLE:
    "the chain's JSON-RPC could not be reached, or it holds no DeviceRegistry at the given address",
  E_BROKER_UNREACHABLE: "the MQTT broker could not be reached",
  E_BROKER_REFUSED: "the MQTT broker refused the connection (membership expired or revoked?)",
  E_BROKER_TLS:
    "the TLS handshake with the broker failed: its certificate is not from the CA given (--broker-ca), names another host or expired, or it wants a client certificate (--broker-cert, --broker-key)",
  E_PLAINTEXT_BROKER:
    "the broker URL is plaintext mqtt:// to another machine (the broker credential and every topic name would cross the network in clear): use mqtts:// with --broker-ca, or allow it with --allow-plain-mqtt",
  E_PEER_TIMEOUT: "the peer did not complete the session set-up in time",
  E_CONFIRMATION_TIMEOUT:
    "an enrollment or revocation was mined but the head's index did not hold it within --wait-timeout (it may still be confirmed)",
  E_PEER_REFUSED: "the head refused the session (GrantWarning); `headCode` holds the reason",
  E_BAD_ARGUMENT: "an argument was of the wrong type or shape",
  E_CLOSED: "the device was closed",
  E_STORAGE: "the device database could not be opened or written",
} as const;

export type DeviceErrorCode = keyof typeof DEVICE_ERROR_CODES;

/** An error raised by the device SDK. */
export class DeviceError extends Error {
  readonly code: DeviceErrorCode;
  /** For E_HEAD_REFUSED / E_PEER_REFUSED: the head's or protocol's error code (e.g. E_REVOKED). */
  readonly headCode?: string;

  constructor(code: DeviceErrorCode, message: string, extra: { headCode?: string; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "DeviceError";
    this.code = code;
    if (extra.headCode !== undefined) this.headCode = extra.headCode;
  }
}

/** True when `e` is a DeviceError, optionally with `code`. */
export function isDeviceError(e: unknown, code?: DeviceErrorCode): e is DeviceError {
  return e instanceof DeviceError && (code === undefined || e.code === code);
}
