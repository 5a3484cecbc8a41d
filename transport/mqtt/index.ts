/**
 * The MQTT transport's public door: what the head, the device SDK and the scripts use. Topic
 * layout and strict parser, the inbox envelope, broker URLs shown without credentials, and the
 * typed client (docs/mqtt.md).
 * @module
 */
export { type BrokerUrlParts, parseBrokerUrl, redactBrokerUrl } from "./broker-url";
export { MqttTransport, type MqttTransportEvents, type MqttTransportOptions } from "./client";
export { decodeEnvelope, type Envelope, EnvelopeError, encodeEnvelope, SENDER_ID_BYTES } from "./envelope";
export { CONNACK_RETURN_CODES, MqttTransportError, type MqttTransportErrorCode } from "./errors";
export {
  assertTopicPrefix,
  clusterFilter,
  ctlTopic,
  DEFAULT_TOPIC_PREFIX,
  DEVICE_CHANNELS,
  DEVICE_ID_HEX_LENGTH,
  type DeviceChannel,
  deviceSubscriptions,
  headInTopic,
  inboxTopic,
  isClusterId,
  isDeviceIdHex,
  isValidTopicFilter,
  MAX_CLUSTER_ID,
  type ParsedTopic,
  parseTopic,
  TopicArgumentError,
  warnTopic,
} from "./topics";
