/**
 * MQTT topic layout for iotguard (docs/mqtt.md § Topic layout).
 *
 * ```
 * <prefix>/c/<clusterId>/d/<deviceIdHex>/inbox   M2M frames and grant traffic addressed to a device
 * <prefix>/c/<clusterId>/d/<deviceIdHex>/warn    warnings from the cluster head to a device
 * <prefix>/c/<clusterId>/d/<deviceIdHex>/ctl     control from the head (revoked, session ended)
 * <prefix>/c/<clusterId>/d/<deviceIdHex>/setup   session set-up FROM that device, relayed by the head
 * <prefix>/c/<clusterId>/head/in                 requests to the cluster head
 * ```
 *
 * Pure string functions: no I/O. Payloads on every topic are binary frames, never JSON.
 * The parser is strict because the embedded broker's ACL hooks decide on its result.
 */

/** Default topic prefix. */
export const DEFAULT_TOPIC_PREFIX = "iotguard";
/** A device ID is 32 bytes: 64 lowercase hex characters. */
export const DEVICE_ID_HEX_LENGTH = 64;
/** Largest cluster ID (uint32). */
export const MAX_CLUSTER_ID = 0xffff_ffff;

/** Per-device channels a device subscribes to (the head writes them; peers write the inbox). */
export const DEVICE_CHANNELS = ["inbox", "warn", "ctl"] as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[number];
/**
 * Last level of a device's set-up topic. Not a {@link DeviceChannel}: the device publishes there and
 * only the head subscribes, so the topic itself names the sender (docs/mqtt.md § Topic layout).
 */
export const SETUP_CHANNEL = "setup";

/** A topic recognised by {@link parseTopic}. */
export type ParsedTopic =
  | { kind: "device"; channel: DeviceChannel; clusterId: number; deviceId: string }
  | { kind: "setup"; clusterId: number; deviceId: string }
  | { kind: "head-in"; clusterId: number };

/** Thrown by the builders on a bad argument (a programming error, not a refusal). */
export class TopicArgumentError extends Error {
  readonly code = "E_TOPIC_ARGUMENT";
  constructor(message: string) {
    super(message);
    this.name = "TopicArgumentError";
  }
}

const DEVICE_ID_RE = /^[0-9a-f]{64}$/;
const CLUSTER_ID_RE = /^(0|[1-9][0-9]{0,9})$/;

/** True when `s` is 64 lowercase hex characters. */
export function isDeviceIdHex(s: string): boolean {
  return DEVICE_ID_RE.test(s);
}

/** True when `n` is an integer in [0, 2^32 - 1]. */
export function isClusterId(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_CLUSTER_ID;
}

/**
 * Checks a topic prefix: one or more non-empty levels, no wildcards, no leading `$`
 * (MQTT-4.7.2-1: `$` topics are the broker's), no NUL.
 * @returns the prefix unchanged
 * @throws TopicArgumentError naming the problem
 */
export function assertTopicPrefix(prefix: string): string {
  if (typeof prefix !== "string" || prefix.length === 0) throw new TopicArgumentError("prefix: empty");
  if (prefix.startsWith("$")) throw new TopicArgumentError("prefix: must not start with $");
  if (/[+#]/.test(prefix) || prefix.includes("\0"))
    throw new TopicArgumentError("prefix: must not contain + # or NUL");
  if (prefix.split("/").some((level) => level.length === 0)) {
    throw new TopicArgumentError("prefix: empty topic level");
  }
  return prefix;
}

function clusterBase(prefix: string, clusterId: number): string {
  assertTopicPrefix(prefix);
  if (!isClusterId(clusterId)) throw new TopicArgumentError(`clusterId: not a uint32 (${clusterId})`);
  return `${prefix}/c/${clusterId}`;
}

function deviceTopic(
  prefix: string,
  clusterId: number,
  deviceIdHex: string,
  channel: DeviceChannel | typeof SETUP_CHANNEL,
): string {
  const base = clusterBase(prefix, clusterId);
  if (!isDeviceIdHex(deviceIdHex)) {
    throw new TopicArgumentError(`deviceIdHex: expected ${DEVICE_ID_HEX_LENGTH} lowercase hex characters`);
  }
  return `${base}/d/${deviceIdHex}/${channel}`;
}

/**
 * A device's inbox: M2M frames and grant traffic addressed to it.
 * @example inboxTopic("iotguard", 7, "ab…") === "iotguard/c/7/d/ab…/inbox"
 */
export function inboxTopic(prefix: string, clusterId: number, deviceIdHex: string): string {
  return deviceTopic(prefix, clusterId, deviceIdHex, "inbox");
}

/** Warnings from the cluster head to one device. */
export function warnTopic(prefix: string, clusterId: number, deviceIdHex: string): string {
  return deviceTopic(prefix, clusterId, deviceIdHex, "warn");
}

/** Control messages from the cluster head to one device (revoked, session ended). */
export function ctlTopic(prefix: string, clusterId: number, deviceIdHex: string): string {
  return deviceTopic(prefix, clusterId, deviceIdHex, "ctl");
}

/**
 * A device's own set-up topic: it publishes its session set-up messages there (SessionRequest, the
 * Grant it forwards) as `targetDeviceId || message`, and the head relays them to the target's inbox.
 * Only that device may publish there, so the head learns the sender from the topic.
 * @example setupTopic("iotguard", 7, "ab…") === "iotguard/c/7/d/ab…/setup"
 */
export function setupTopic(prefix: string, clusterId: number, deviceIdHex: string): string {
  return deviceTopic(prefix, clusterId, deviceIdHex, SETUP_CHANNEL);
}

/** Filter matching every device's set-up topic of one cluster: the head's relay subscribes to it. */
export function setupTopicFilter(prefix: string, clusterId: number): string {
  return `${clusterBase(prefix, clusterId)}/d/+/${SETUP_CHANNEL}`;
}

/** Requests to the cluster head. */
export function headInTopic(prefix: string, clusterId: number): string {
  return `${clusterBase(prefix, clusterId)}/head/in`;
}

/** The three topics a device subscribes to: inbox, warn, ctl. */
export function deviceSubscriptions(prefix: string, clusterId: number, deviceIdHex: string): string[] {
  return DEVICE_CHANNELS.map((channel) => deviceTopic(prefix, clusterId, deviceIdHex, channel));
}

/** Filter matching every topic of one cluster (for the head and for observers). */
export function clusterFilter(prefix: string, clusterId: number): string {
  return `${clusterBase(prefix, clusterId)}/#`;
}

/**
 * Strictly parses a concrete topic name under `prefix`.
 * @returns the parsed topic, or `undefined` for anything else: wildcards, empty levels,
 *   a device ID that is not 64 lowercase hex, a cluster ID that is not a canonical decimal uint32,
 *   a foreign prefix, unknown channels or extra levels.
 */
export function parseTopic(prefix: string, topic: string): ParsedTopic | undefined {
  if (typeof topic !== "string" || /[+#]/.test(topic) || topic.includes("\0")) return undefined;
  const head = `${prefix}/`;
  if (!topic.startsWith(head)) return undefined;
  const levels = topic.slice(head.length).split("/");
  if (levels.some((level) => level.length === 0)) return undefined;
  const [c, clusterText, kind, ...rest] = levels;
  if (c !== "c" || clusterText === undefined || !CLUSTER_ID_RE.test(clusterText)) return undefined;
  const clusterId = Number(clusterText);
  if (!isClusterId(clusterId)) return undefined;
  if (kind === "head" && rest.length === 1 && rest[0] === "in") return { kind: "head-in", clusterId };
  if (kind === "d" && rest.length === 2) {
    const [deviceId, channel] = rest as [string, string];
    if (!isDeviceIdHex(deviceId)) return undefined;
    if (channel === SETUP_CHANNEL) return { kind: "setup", clusterId, deviceId };
    if (!(DEVICE_CHANNELS as readonly string[]).includes(channel)) return undefined;
    return { kind: "device", channel: channel as DeviceChannel, clusterId, deviceId };
  }
  return undefined;
}

/**
 * Checks an MQTT topic filter's syntax (MQTT 3.1.1 §4.7.1): non-empty, `#` only as the whole last
 * level, `+` only as a whole level, no NUL.
 */
export function isValidTopicFilter(filter: string): boolean {
  if (typeof filter !== "string" || filter.length === 0 || filter.includes("\u0000")) return false;
  const levels = filter.split("/");
  return levels.every((level, i) => {
    if (level.includes("#")) return level === "#" && i === levels.length - 1;
    if (level.includes("+")) return level === "+";
    return true;
  });
}
