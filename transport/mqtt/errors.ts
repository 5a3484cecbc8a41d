/**
 * Typed MQTT transport errors with stable codes (docs/mqtt.md § Errors).
 */

/** Every code a {@link MqttTransportError} can carry. */
export const MQTT_TRANSPORT_ERROR_CODES = {
  E_BROKER_UNREACHABLE: "the broker could not be reached (TCP connect failed or timed out)",
  E_BROKER_REFUSED: "the broker refused the connection; `returnCode` holds the MQTT CONNACK return code",
  E_SUBSCRIBE_REFUSED: "the broker refused a subscription (SUBACK granted 0x80)",
  E_PUBLISH_FAILED: "a publish could not be completed",
  E_CLOSED: "the transport was closed",
  E_BAD_ARGUMENT: "an argument was of the wrong type or shape",
  E_BROKER_TLS:
    "the TLS handshake with the broker failed (certificate not issued by the trusted CA, wrong host name, expired, client certificate refused, no TLS on that port); `tlsCode` holds Node's code",
  E_PLAINTEXT_BROKER:
    "a plaintext `mqtt://` URL names a host other than this machine: the broker credential and every topic name would cross the network in clear (use `mqtts://`, or allow plaintext explicitly)",
} as const;

export type MqttTransportErrorCode = keyof typeof MQTT_TRANSPORT_ERROR_CODES;

/** MQTT 3.1.1 §3.2.2.3 CONNACK return codes. */
export const CONNACK_RETURN_CODES = {
  1: "unacceptable protocol version",
  2: "identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
} as const satisfies Record<number, string>;

/** An error raised by {@link MqttTransport}. Never carries credentials. */
export class MqttTransportError extends Error {
  readonly code: MqttTransportErrorCode;
  /** CONNACK return code, for `E_BROKER_REFUSED`. */
  readonly returnCode?: number;
  /** Refused topics, for `E_SUBSCRIBE_REFUSED`. */
  readonly topics?: readonly string[];
  /** Node's TLS or certificate code (e.g. `CERT_HAS_EXPIRED`), for `E_BROKER_TLS`. */
  readonly tlsCode?: string;

  constructor(
    code: MqttTransportErrorCode,
    message: string,
    extra: { returnCode?: number; topics?: readonly string[]; tlsCode?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "MqttTransportError";
    this.code = code;
    if (extra.returnCode !== undefined) this.returnCode = extra.returnCode;
    if (extra.topics !== undefined) this.topics = extra.topics;
    if (extra.tlsCode !== undefined) this.tlsCode = extra.tlsCode;
  }
}
