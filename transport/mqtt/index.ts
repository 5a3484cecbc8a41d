/**
 * The MQTT transport's public door: what the head, the device SDK and the scripts use. Topic
 * layout and strict parser, the inbox envelope, broker URLs shown without credentials, and the
 * typed client (docs/mqtt.md).
 * @module
 */
export {
  assertBrokerUrlConfidential,
  type BrokerUrlParts,
  isLoopbackBrokerHost,
  isTlsBrokerUrl,
  parseBrokerUrl,
  redactBrokerUrl,
} from "./broker-url";
export {
  BROKER_TLS_FLAGS,
  type BrokerTls,
  type BrokerTlsFileNames,
  type BrokerTlsFiles,
  readBrokerTlsFiles,
} from "./broker-tls";
export {
  type IncomingGate,
  MqttTransport,
  type MqttTransportEvents,
  type MqttTransportOptions,
} from "./client";
export { batchWritesPerRead, holdWritesForThisTurn } from "./write-batching";
export {
  decodeEnvelope,
  decodeSetupPayload,
  type Envelope,
  EnvelopeError,
  encodeEnvelope,
  encodeSetupPayload,
  SENDER_ID_BYTES,
  type SetupPayload,
  TARGET_ID_BYTES,
} from "./envelope";
export {
  CONNACK_RETURN_CODES,
  MQTT_TRANSPORT_ERROR_CODES,
  MqttTransportError,
  type MqttTransportErrorCode,
} from "./errors";
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
  SETUP_CHANNEL,
  setupTopic,
  setupTopicFilter,
  TopicArgumentError,
  warnTopic,
} from "./topics";
