/**
 * iotguard device SDK: the public surface (docs/device.md).
 * @module
 */
export {
  DEFAULT_DEVICE_JOIN_SUITES,
  DEFAULT_TOPIC_PREFIX,
  Device,
  type DeviceOptions,
  type DeviceStatus,
  type HeadOptions,
  type HeadSource,
  type JoinOptions,
  type JoinResult,
  type PinnedHead,
} from "./device";
export type { JoinSuiteName } from "../../protocol";
export { DEVICE_ERROR_CODES, DeviceError, type DeviceErrorCode, isDeviceError } from "./errors";
export type {
  DeviceEvents,
  DeviceStats,
  MessageEvent,
  SessionOpenedEvent,
  SessionRetiredEvent,
  SessionRotatedEvent,
} from "./events";
export { AEAD_FRAME_LIMITS, DEFAULT_CHANNEL_SUITE, type RotationPolicy } from "./session-manager";
export type { EnrollmentRequest } from "./head-client";
export { HeadClient } from "./head-client";
export { type ChainHead, type RegistryAnchor, readChainHead } from "./registry-reader";
export type { HeadPin } from "./store/head-pin-store";
export { useNodeCrypto } from "../../platform/node-symmetric-backend";
export { useNativeSymmetric } from "../../platform/sodium-symmetric-backend";
