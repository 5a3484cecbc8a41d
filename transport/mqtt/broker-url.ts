/**
 * Broker URLs may carry credentials in their userinfo (`mqtt://user:password@host:port`,
 * RFC 3986 §3.2.1). Such a URL must never be shown, logged, served (`/health`) or stored by a
 * device: show {@link redactBrokerUrl}'s form, and connect with {@link parseBrokerUrl}'s parts.
 *
 * MQTT.js takes the userinfo of the URL over the `username`/`password` options (its
 * `parseAuthOptions` runs after the options are merged), so a URL with userinfo also decides
 * which credential is sent: strip it before connecting with a credential of your own.
 * @module
 */
import { isIP } from "node:net";
import { MqttTransportError } from "./errors";

/** URL schemes MQTT.js connects with (TCP, TLS, WebSocket). */
export const BROKER_URL_SCHEMES = ["mqtt:", "mqtts:", "tcp:", "tls:", "ssl:", "ws:", "wss:"] as const;

/** The schemes of {@link BROKER_URL_SCHEMES} that run over TLS. */
export const TLS_BROKER_URL_SCHEMES = ["mqtts:", "tls:", "ssl:", "wss:"] as const;

/** Shown instead of a string that is not a broker URL, so not even a fragment of it is echoed. */
export const UNPARSEABLE_BROKER_URL = "<not a broker URL>";

/** What {@link parseBrokerUrl} returns. */
export interface BrokerUrlParts {
  /** The URL without userinfo (query and path kept): what to connect to and what a device may store. */
  url: string;
  /** Percent-decoded user name, when the URL had one. */
  username?: string;
  /** Percent-decoded password, when the URL had one. Secret: never log it. */
  password?: string;
}

function parse(url: unknown): URL | undefined {
  if (typeof url !== "string") return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!(BROKER_URL_SCHEMES as readonly string[]).includes(u.protocol) || u.hostname === "") return undefined;
  return u;
}

/**
 * The broker URL for display (logs, `/health`, CLI output): scheme, host, port and path only.
 * Userinfo is removed, and so are query and fragment, which some brokers use for tokens.
 * Never throws: anything that is not a broker URL becomes {@link UNPARSEABLE_BROKER_URL}.
 * @example redactBrokerUrl("mqtt://head:s3cret@10.0.0.5:1883") // "mqtt://10.0.0.5:1883"
 */
export function redactBrokerUrl(url: string): string {
  const u = parse(url);
  if (!u) return UNPARSEABLE_BROKER_URL;
  u.username = "";
  u.password = "";
  u.search = "";
  u.hash = "";
  return u.toString();
}

/**
 * Separates a broker URL into the URL without userinfo and the (percent-decoded) user name and
 * password, for connecting with explicit credentials.
 * @example
 * const { url, username, password } = parseBrokerUrl(config.brokerUrl);
 * await MqttTransport.connect(url, { clientId, ...(username ? { username } : {}), ...(password ? { password } : {}) });
 * @throws MqttTransportError E_BAD_ARGUMENT when `url` is not an MQTT or WebSocket URL with a host
 *   (the message never repeats the input, which may hold a password)
 */
export function parseBrokerUrl(url: string): BrokerUrlParts {
  const u = parse(url);
  if (!u)
    throw new MqttTransportError(
      "E_BAD_ARGUMENT",
      `broker URL: expected ${BROKER_URL_SCHEMES.map((s) => `${s}//`).join(", ")} with a host`,
    );
  const username = u.username === "" ? undefined : decode(u.username);
  const password = u.password === "" ? undefined : decode(u.password);
  u.username = "";
  u.password = "";
  return {
    url: u.toString(),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    // A lone "%" that is not an escape: WHATWG URL kept it as typed, so is it meant.
    return part;
  }
}

/** True for a broker URL whose scheme runs over TLS (`mqtts:`, `tls:`, `ssl:`, `wss:`). */
export function isTlsBrokerUrl(url: string): boolean {
  const u = parse(url);
  return u !== undefined && (TLS_BROKER_URL_SCHEMES as readonly string[]).includes(u.protocol);
}

/**
 * True for a host only this machine can reach: 127.0.0.0/8, ::1, `localhost`. Any other name
 * counts as reachable from the network, since it may resolve anywhere.
 */
export function isLoopbackBrokerHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6)
    return bare === "::1" || /^(0{0,4}:){7}0{0,3}1$/.test(bare) || /^::ffff:127\./.test(bare);
  return false;
}

/**
 * Refuses a plaintext broker URL (`mqtt://`, `ws://`, …) to a host other than this machine,
 * unless plaintext is explicitly allowed: over it the broker credential, every topic name (device
 * IDs, who talks to whom) and every frame's metadata would cross the network in clear. Loopback
 * stays allowed (the embedded broker, a local Mosquitto). Called before anything is sent.
 * @param allowSetting the setting that allows plaintext, named in the error (e.g. `--allow-plain-mqtt`)
 * @throws MqttTransportError E_PLAINTEXT_BROKER naming `allowSetting` (the URL shown without
 *   credentials), E_BAD_ARGUMENT when `url` is not a broker URL
 */
export function assertBrokerUrlConfidential(
  url: string,
  o: { allowPlaintext: boolean; allowSetting: string },
): void {
  const u = parse(url);
  if (!u) parseBrokerUrl(url); // throws the usual E_BAD_ARGUMENT
  if (isTlsBrokerUrl(url) || o.allowPlaintext || isLoopbackBrokerHost(u!.hostname)) return;
  throw new MqttTransportError(
    "E_PLAINTEXT_BROKER",
    `${redactBrokerUrl(url)} is plaintext MQTT to a host other than this machine: the broker credential ` +
      `and every topic name would cross the network in clear; use mqtts:// (with the broker's CA), ` +
      `or set ${o.allowSetting} to accept that`,
  );
}
