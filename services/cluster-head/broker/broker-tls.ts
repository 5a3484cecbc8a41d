/**
 * How the head may reach an external broker (docs/mqtt.md § TLS): over TLS (`mqtts://`, with
 * `--broker-ca` and optionally `--broker-cert` / `--broker-key`), or in plaintext only on loopback.
 * Plaintext to any other host would carry the head's broker credential, the dynsec admin
 * credential and every topic name (device IDs, who talks to whom) in clear, so it needs
 * `--allow-plain-mqtt`. Checked at start, before anything connects.
 */
import {
  assertBrokerUrlConfidential,
  BROKER_TLS_FLAGS,
  type BrokerTls,
  isTlsBrokerUrl,
  MqttTransportError,
  readBrokerTlsFiles,
} from "../../../transport/mqtt";
import type { HeadConfig } from "../config";

/** The setting that allows plaintext MQTT off loopback. */
export const ALLOW_PLAIN_MQTT_FLAG = "--allow-plain-mqtt";

/**
 * The TLS material for the head's connections to `--broker-url`, or undefined for plaintext (a
 * loopback `mqtt://` URL, or any with `--allow-plain-mqtt`) and for the embedded broker.
 * @throws MqttTransportError E_PLAINTEXT_BROKER (an `mqtt://` URL off loopback without
 *   `--allow-plain-mqtt`), E_BAD_ARGUMENT (a TLS file without an `mqtts://` URL, or one that is
 *   unreadable, not PEM, open to other users, or a key that is not the certificate's)
 */
export function loadBrokerTls(
  config: Pick<HeadConfig, "brokerUrl" | "brokerCa" | "brokerCert" | "brokerKey" | "allowPlainMqtt">,
): BrokerTls | undefined {
  const files = { ca: config.brokerCa, cert: config.brokerCert, key: config.brokerKey };
  const named = [files.ca, files.cert, files.key].some((f) => f !== undefined);
  if (config.brokerUrl === undefined) {
    if (named)
      throw new MqttTransportError(
        "E_BAD_ARGUMENT",
        `${BROKER_TLS_FLAGS.ca}, ${BROKER_TLS_FLAGS.cert} and ${BROKER_TLS_FLAGS.key} are for an mqtts:// --broker-url; the embedded broker listens on loopback without TLS`,
      );
    return undefined;
  }
  try {
    assertBrokerUrlConfidential(config.brokerUrl, {
      allowPlaintext: config.allowPlainMqtt,
      allowSetting: ALLOW_PLAIN_MQTT_FLAG,
    });
  } catch (error) {
    if (error instanceof MqttTransportError)
      throw new MqttTransportError(error.code, `--broker-url ${error.message}`, { cause: error });
    throw error;
  }
  if (!isTlsBrokerUrl(config.brokerUrl)) {
    if (named)
      throw new MqttTransportError(
        "E_BAD_ARGUMENT",
        `${BROKER_TLS_FLAGS.ca}, ${BROKER_TLS_FLAGS.cert} and ${BROKER_TLS_FLAGS.key} need an mqtts:// --broker-url: this one is plaintext`,
      );
    return undefined;
  }
  // No file: Node's public roots, host name still checked.
  return readBrokerTlsFiles(files, BROKER_TLS_FLAGS) ?? {};
}
