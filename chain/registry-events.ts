/**
 * Decoding DeviceRegistry logs into typed events. The events carry everything the index needs,
 * so the head rebuilds the registry from logs alone, never from contract calls.
 */
import type { Interface, Log } from "ethers";

interface EventPosition {
  blockNumber: number;
  logIndex: number;
}

export type RegistryEvent = EventPosition &
  (
    | {
        kind: "cluster-created";
        clusterId: number;
        head: string;
        latitude: number;
        longitude: number;
        radius: number;
      }
    | { kind: "cluster-head-changed"; clusterId: number; previousHead: string; newHead: string }
    | { kind: "device-enrolled"; deviceId: string; clusterId: number; keyAddress: string }
    | { kind: "device-revoked"; deviceId: string; clusterId: number }
    | {
        kind: "device-key-rotated";
        deviceId: string;
        clusterId: number;
        previousKey: string;
        newKey: string;
        keyVersion: number;
      }
    | { kind: "admin-transferred"; previousAdmin: string; newAdmin: string }
    | { kind: "admin-transfer-started"; admin: string; newAdmin: string }
    | { kind: "admin-transfer-cancelled"; admin: string; cancelledAdmin: string }
  );

/** Addresses are kept lowercase throughout the head, so comparisons never depend on checksums. */
function lower(address: string): string {
  return address.toLowerCase();
}

/** Device IDs are kept as 64 lowercase hex digits without 0x throughout the head. */
export function deviceIdHex(bytes32: string): string {
  return bytes32.toLowerCase().replace(/^0x/, "");
}

/**
 * Decodes one registry log.
 * @returns the event, or `undefined` for a log this version does not know (kept forward compatible).
 */
export function decodeRegistryLog(iface: Interface, log: Log): RegistryEvent | undefined {
  const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return undefined;
  const position = { blockNumber: log.blockNumber, logIndex: log.index };
  const a = parsed.args;
  switch (parsed.name) {
    case "ClusterCreated":
      return {
        ...position,
        kind: "cluster-created",
        clusterId: Number(a.clusterId),
        head: lower(a.head),
        latitude: Number(a.latitude),
        longitude: Number(a.longitude),
        radius: Number(a.radius),
      };
    case "ClusterHeadChanged":
      return {
        ...position,
        kind: "cluster-head-changed",
        clusterId: Number(a.clusterId),
        previousHead: lower(a.previousHead),
        newHead: lower(a.newHead),
      };
    case "DeviceEnrolled":
      return {
        ...position,
        kind: "device-enrolled",
        deviceId: deviceIdHex(a.deviceId),
        clusterId: Number(a.clusterId),
        keyAddress: lower(a.keyAddress),
      };
    case "DeviceRevoked":
      return {
        ...position,
        kind: "device-revoked",
        deviceId: deviceIdHex(a.deviceId),
        clusterId: Number(a.clusterId),
      };
    case "DeviceKeyRotated":
      return {
        ...position,
        kind: "device-key-rotated",
        deviceId: deviceIdHex(a.deviceId),
        clusterId: Number(a.clusterId),
        previousKey: lower(a.previousKey),
        newKey: lower(a.newKey),
        keyVersion: Number(a.keyVersion),
      };
    case "AdminTransferred":
      return {
        ...position,
        kind: "admin-transferred",
        previousAdmin: lower(a.previousAdmin),
        newAdmin: lower(a.newAdmin),
      };
    case "AdminTransferStarted":
      return {
        ...position,
        kind: "admin-transfer-started",
        admin: lower(a.admin),
        newAdmin: lower(a.newAdmin),
      };
    case "AdminTransferCancelled":
      return {
        ...position,
        kind: "admin-transfer-cancelled",
        admin: lower(a.admin),
        cancelledAdmin: lower(a.cancelledAdmin),
      };
    default:
      return undefined;
  }
}
