/**
 * The cluster head's embedded MQTT broker: aedes in-process, 127.0.0.1 only, deny by default
 * (docs/mqtt.md § Access control).
 *
 * aedes is ESM-only; this CommonJS module loads it with a dynamic `import()`.
 * aedes speaks MQTT 3.1.1 only: clients must use `protocolVersion: 4`.
 */
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import type { Aedes, AuthenticateError, Client, ConnackPacket, PublishPacket } from "aedes" with {
  "resolution-mode": "import",
};
import { FRAME_OVERHEAD, MAX_FRAME_PLAINTEXT } from "../../../protocol";
import {
  assertTopicPrefix,
  DEFAULT_TOPIC_PREFIX,
  DEVICE_ID_HEX_LENGTH,
  inboxTopic,
  isClusterId,
  isDeviceIdHex,
  isValidTopicFilter,
  MAX_CLUSTER_ID,
  type ParsedTopic,
  parseTopic,
  SENDER_ID_BYTES,
} from "../../../transport/mqtt";
import { type GateRefusal, PacketGate, PendingConnections } from "./connection-guard";

/** Who a broker connection belongs to, as decided by the injected `authenticate`. */
export type Principal =
  { kind: "device"; deviceId: string; clusterId: number } | { kind: "head"; clusterId: number };

/** A value or a promise of it: hooks may be synchronous or not. */
type MaybePromise<T> = T | Promise<T>;

/** Options for {@link startEmbeddedBroker}. */
export interface EmbeddedBrokerOptions {
  /** TCP port on 127.0.0.1; default 0 (a free port). 1883 is refused: it belongs to the machine's Mosquitto. */
  port?: number;
  /** Topic prefix; default `iotguard`. */
  topicPrefix?: string;
  /** Checks a CONNECT's credentials; `undefined` refuses (return code 4). Must not log the password. */
  authenticate: (username: string, password: Buffer) => Promise<Principal | undefined>;
  /** May device `from` publish to device `to`'s inbox? (Channel frames to session peers only.) */
  mayPublishTo: (fromDeviceId: string, toDeviceId: string, payload: Buffer) => MaybePromise<boolean>;
  /** Is the device still a current member? Re-checked on every publish and subscribe. Default: always true. */
  isCurrent?: (deviceId: string) => MaybePromise<boolean>;
  /**
   * Largest Remaining Length of a CONNECT, the only packet read before the CONNACK; a longer one
   * closes the connection unanswered. Default 1024; at least {@link MIN_CONNECT_BYTES}.
   */
  maxConnectBytes?: number;
  /**
   * Largest Remaining Length of any packet after the CONNACK. Default and minimum:
   * {@link largestFramePublishBytes} of the topic prefix (65,697 for `iotguard`).
   */
  maxPacketBytes?: number;
  /** Connections without a CONNACK yet, in total; one more is closed on accept. Default 256. */
  maxPendingConnections?: number;
  /** Connections without a CONNACK yet from one source address; one more is closed on accept. Default 64. */
  maxPendingPerAddress?: number;
  /** A connection without a CONNACK after this long is closed (aedes' own default: 30 s). Default 5000. */
  connectTimeoutMs?: number;
}

/** The limits in force, defaults applied (see {@link EmbeddedBrokerOptions}). */
export interface EmbeddedBrokerLimits {
  maxConnectBytes: number;
  maxPacketBytes: number;
  maxPendingConnections: number;
  maxPendingPerAddress: number;
  connectTimeoutMs: number;
}

/**
 * The smallest `maxConnectBytes` allowed: the Remaining Length of the largest CONNECT iotguard sends
 * (MQTT 3.1.1 §3.1), a device's: a 10-byte variable header, then client ID, user name and password,
 * each a 2-byte length and 64 hex characters.
 */
export const MIN_CONNECT_BYTES = 10 + 3 * (2 + DEVICE_ID_HEX_LENGTH);

/**
 * Remaining Length of the largest PUBLISH iotguard sends: a full channel frame
 * ({@link MAX_FRAME_PLAINTEXT} plus {@link FRAME_OVERHEAD}) in an inbox envelope, at QoS 1, to the
 * longest inbox topic under `prefix` (MQTT 3.1.1 §3.3.2: 2-byte topic length, topic, 2-byte packet
 * identifier; §3.3.3: payload).
 */
export function largestFramePublishBytes(prefix: string): number {
  const topic = inboxTopic(prefix, MAX_CLUSTER_ID, "0".repeat(DEVICE_ID_HEX_LENGTH));
  return 2 + Buffer.byteLength(topic) + 2 + SENDER_ID_BYTES + FRAME_OVERHEAD + MAX_FRAME_PLAINTEXT;
}

/**
 * Default limits. Before its CONNACK a connection holds at most one CONNECT in aedes' parser and one
 * socket read (64 KiB) in its gate, so 256 of them hold a few tens of MiB at worst.
 */
const DEFAULTS = {
  maxConnectBytes: 1024,
  maxPendingConnections: 256,
  maxPendingPerAddress: 64,
  connectTimeoutMs: 5000,
} as const;
/** Node's timers overflow above 2^31 - 1 ms. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Counters for metrics; a snapshot, never credentials. */
export interface EmbeddedBrokerCounters {
  /** Connections admitted (CONNACK 0). */
  connections: number;
  /** Connections open now. */
  connected: number;
  /** CONNECTs refused by authentication (bad/missing credentials, wrong client ID, hook failure). */
  refusedAuth: number;
  /** Subscriptions refused (SUBACK 0x80). */
  refusedSubscribes: number;
  /** Publishes refused by closing the connection (retain, foreign or `$` topics, revoked device). */
  refusedPublishes: number;
  /** Publishes to a peer inbox acknowledged but dropped because `mayPublishTo` said no. */
  droppedPublishes: number;
  /** Connections open now that have no CONNACK yet. */
  pending: number;
  /** Connections closed on accept: too many without a CONNACK, in total or from their address. */
  refusedPending: number;
  /** Connections closed because a packet announced more than `maxConnectBytes` / `maxPacketBytes`. */
  refusedOversize: number;
  /** Connections closed because the first packet was not a CONNECT or a length field was malformed. */
  refusedMalformed: number;
  /** Connections closed because they had no CONNACK after `connectTimeoutMs`. */
  connectTimeouts: number;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  readonly port: number;
  /** `mqtt://127.0.0.1:<port>` */
  readonly url: string;
  /** The aedes instance (for events; do not replace its hooks). */
  readonly broker: Aedes;
  /** A snapshot of the counters. */
  readonly counters: EmbeddedBrokerCounters;
  /** The limits in force. */
  readonly limits: Readonly<EmbeddedBrokerLimits>;
  /**
   * Closes the connection of `deviceIdHex` (used at revocation).
   * @returns true if a connection was open
   */
  disconnect(deviceIdHex: string): Promise<boolean>;
  /** Stops listening and closes every client. Idempotent. */
  close(): Promise<void>;
}

/** MQTT 3.1.1 §3.2.2.3 CONNACK return codes used here. */
export const CONNACK = {
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/**
 * Publishes to a peer inbox refused by `mayPublishTo` are acknowledged and re-addressed here, a
 * `$` topic nobody may subscribe to, so they reach no one (MQTT-3.3.5-2 allows a positive
 * acknowledgement of an unauthorised PUBLISH). Closing the connection instead would make MQTT.js
 * resend the unacknowledged frame on every reconnect and lock the device out.
 */
export const DROPPED_TOPIC = "$iotguard/dropped";

/** Thrown by {@link startEmbeddedBroker} on bad options. */
export class EmbeddedBrokerConfigError extends Error {
  readonly code = "E_BROKER_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "EmbeddedBrokerConfigError";
  }
}

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

function integerOption(
  options: EmbeddedBrokerOptions,
  name: keyof EmbeddedBrokerLimits,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = options[name] ?? fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new EmbeddedBrokerConfigError(`${name}: expected an integer in [${min}, ${max}]`);
  return value;
}

function validateOptions(options: EmbeddedBrokerOptions): {
  port: number;
  prefix: string;
  limits: EmbeddedBrokerLimits;
} {
  if (typeof options !== "object" || options === null)
    throw new EmbeddedBrokerConfigError("options: expected an object");
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new EmbeddedBrokerConfigError("port: expected an integer in [0, 65535]");
  if (port === 1883)
    throw new EmbeddedBrokerConfigError(
      "port: 1883 belongs to the machine's Mosquitto; use 0 for a free port",
    );
  for (const hook of ["authenticate", "mayPublishTo"] as const) {
    if (typeof options[hook] !== "function")
      throw new EmbeddedBrokerConfigError(`${hook}: expected a function`);
  }
  if (options.isCurrent !== undefined && typeof options.isCurrent !== "function") {
    throw new EmbeddedBrokerConfigError("isCurrent: expected a function");
  }
  let prefix: string;
  try {
    prefix = assertTopicPrefix(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
  } catch (err) {
    throw new EmbeddedBrokerConfigError(`topicPrefix: ${(err as Error).message}`);
  }
  const largestFrame = largestFramePublishBytes(prefix);
  // MQTT 3.1.1 §2.2.3: a Remaining Length is at most 268,435,455.
  const maxPacketBytes = integerOption(options, "maxPacketBytes", largestFrame, largestFrame, 268_435_455);
  const limits: EmbeddedBrokerLimits = {
    maxConnectBytes: integerOption(
      options,
      "maxConnectBytes",
      DEFAULTS.maxConnectBytes,
      MIN_CONNECT_BYTES,
      maxPacketBytes,
    ),
    maxPacketBytes,
    maxPendingConnections: integerOption(
      options,
      "maxPendingConnections",
      DEFAULTS.maxPendingConnections,
      1,
      1e6,
    ),
    maxPendingPerAddress: integerOption(
      options,
      "maxPendingPerAddress",
      DEFAULTS.maxPendingPerAddress,
      1,
      1e6,
    ),
    connectTimeoutMs: integerOption(
      options,
      "connectTimeoutMs",
      DEFAULTS.connectTimeoutMs,
      1,
      MAX_TIMEOUT_MS,
    ),
  };
  return { port, prefix, limits };
}

function isPrincipal(p: unknown): p is Principal {
  if (typeof p !== "object" || p === null) return false;
  const o = p as Record<string, unknown>;
  if (typeof o.clusterId !== "number" || !isClusterId(o.clusterId)) return false;
  if (o.kind === "head") return true;
  return o.kind === "device" && typeof o.deviceId === "string" && isDeviceIdHex(o.deviceId);
}

/**
 * Starts aedes on 127.0.0.1 with iotguard's authentication and topic ACLs.
 * @throws EmbeddedBrokerConfigError on bad options (before anything listens)
 * @example
 * const b = await startEmbeddedBroker({ authenticate, mayPublishTo, isCurrent });
 * // devices connect to b.url with clientId = deviceIdHex, protocolVersion 4
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { port, prefix, limits } = validateOptions(options);
  const isCurrent = options.isCurrent ?? (() => true);
  const counters: EmbeddedBrokerCounters = {
    connections: 0,
    connected: 0,
    refusedAuth: 0,
    refusedSubscribes: 0,
    refusedPublishes: 0,
    droppedPublishes: 0,
    pending: 0,
    refusedPending: 0,
    refusedOversize: 0,
    refusedMalformed: 0,
    connectTimeouts: 0,
  };
  const principals = new WeakMap<Client, Principal>();
  const devices = new Map<string, Client>();

  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker({
    // A backstop only: each PacketGate closes a connection without a CONNACK after connectTimeoutMs,
    // and counts it; aedes' timer (cleared once a CONNECT is parsed) fires a little later.
    connectTimeout: Math.min(limits.connectTimeoutMs + 1000, MAX_TIMEOUT_MS),
    authenticate(client, username, password, done) {
      const refuse = (code: number, why: string): void => {
        counters.refusedAuth++;
        done(authError(code, why), null);
      };
      if (
        typeof username !== "string" ||
        username.length === 0 ||
        !Buffer.isBuffer(password) ||
        password.length === 0
      ) {
        refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, "missing credentials");
        return;
      }
      options.authenticate(username, password).then(
        (principal) => {
          if (principal === undefined) return refuse(CONNACK.BAD_USERNAME_OR_PASSWORD, "unknown credentials");
          if (!isPrincipal(principal)) return refuse(CONNACK.NOT_AUTHORIZED, "malformed principal");
          // A device's client ID is its device ID, so a second connection takes over the first and
          // disconnect(deviceId) finds it; nobody else may use a device-shaped client ID.
          if (principal.kind === "device" ? client.id !== principal.deviceId : isDeviceIdHex(client.id)) {
            return refuse(CONNACK.IDENTIFIER_REJECTED, "client ID does not match the principal");
          }
          principals.set(client, principal);
          done(null, true);
        },
        () => refuse(CONNACK.SERVER_UNAVAILABLE, "authentication hook failed"),
      );
    },

    authorizeSubscribe(client, sub, done) {
      const refuse = (): void => {
        counters.refusedSubscribes++;
        done(null, null); // SUBACK 0x80 for this topic only (MQTT 3.1.1 §3.9.3)
      };
      const principal = principals.get(client);
      if (principal === undefined) return refuse();
      // iotguard uses QoS 1 at most. A lower grant (MQTT-3.8.4-6) cannot be expressed: aedes 1.2
      // writes the *requested* QoS into the SUBACK whatever this hook returns, so QoS 2 is refused.
      if (sub.qos > 1) return refuse();
      if (principal.kind === "head") {
        const base = `${prefix}/c/${principal.clusterId}/`;
        if (sub.topic.startsWith(base) && isValidTopicFilter(sub.topic)) done(null, sub);
        else refuse();
        return;
      }
      const parsed = parseTopic(prefix, sub.topic); // refuses + and #
      if (
        parsed?.kind !== "device" ||
        parsed.deviceId !== principal.deviceId ||
        parsed.clusterId !== principal.clusterId
      ) {
        return refuse();
      }
      Promise.resolve()
        .then(() => isCurrent(principal.deviceId))
        .then(
          (current) => (current ? done(null, sub) : refuse()),
          () => refuse(),
        );
    },

    authorizePublish(client, packet, done) {
      const refuse = (why: string): void => {
        counters.refusedPublishes++;
        done(new Error(why)); // aedes closes the connection (MQTT-3.3.5-2)
      };
      const principal = client === null ? undefined : principals.get(client);
      if (principal === undefined) return refuse("no principal");
      if (packet.retain) return refuse("retained messages are not allowed");
      if (packet.topic.startsWith("$")) return refuse("$ topics are not allowed");
      const parsed = parseTopic(prefix, packet.topic);
      if (parsed === undefined || parsed.clusterId !== principal.clusterId)
        return refuse("topic outside the cluster");
      if (principal.kind === "head") return done(null);
      decideDevicePublish(principal, parsed, packet.payload as Buffer).then(
        (decision) => {
          if (decision === "allow") return done(null);
          if (decision === "drop") {
            counters.droppedPublishes++;
            dropPacket(packet);
            return done(null);
          }
          refuse("publish not allowed");
        },
        () => refuse("authorization hook failed"),
      );
    },
  });

  async function decideDevicePublish(
    principal: Extract<Principal, { kind: "device" }>,
    target: ParsedTopic,
    payload: Buffer,
  ): Promise<"allow" | "drop" | "refuse"> {
    if (!(await isCurrent(principal.deviceId))) return "refuse";
    if (target.kind === "head-in") return "allow"; // the head's request topic of its own cluster
    // A set-up topic names its publisher: the head's relay takes the sender from it, so only the
    // device itself may write there (docs/mqtt.md § Session set-up through the head).
    if (target.kind === "setup") return target.deviceId === principal.deviceId ? "allow" : "refuse";
    // Only the head writes warn/ctl; nobody needs to write to their own inbox.
    if (target.channel !== "inbox" || target.deviceId === principal.deviceId) return "refuse";
    return (await options.mayPublishTo(principal.deviceId, target.deviceId, payload)) ? "allow" : "drop";
  }

  const ready = new Set<Client>();
  broker.on("clientReady", (client) => {
    counters.connections++;
    ready.add(client);
    counters.connected = ready.size;
    const principal = principals.get(client);
    if (principal?.kind === "device") devices.set(principal.deviceId, client);
  });
  broker.on("clientDisconnect", (client) => {
    // Also fired for connections refused before they were ready.
    ready.delete(client);
    counters.connected = ready.size;
    const principal = principals.get(client);
    if (principal?.kind === "device" && devices.get(principal.deviceId) === client)
      devices.delete(principal.deviceId);
  });

  // Connections without a CONNACK: bounded in number here, in size and time by their PacketGate.
  const pending = new PendingConnections(limits.maxPendingConnections, limits.maxPendingPerAddress);
  const gates = new WeakMap<Client, { gate: PacketGate; release: () => void }>();
  const refusalCounter: Record<GateRefusal, "refusedOversize" | "refusedMalformed" | "connectTimeouts"> = {
    oversize: "refusedOversize",
    malformed: "refusedMalformed",
    timeout: "connectTimeouts",
  };
  broker.on("connackSent", (packet: ConnackPacket, client: Client) => {
    if (packet.returnCode !== 0) return;
    const entry = gates.get(client);
    entry?.release();
    entry?.gate.admit();
  });

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    // MQTT packets are small and often written back to back (a PUBACK, then a PUBLISH to the same
    // client): with Nagle's algorithm the second waits for the peer's delayed ACK, ~40 ms per hop.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const release = pending.tryAcquire(socket.remoteAddress ?? "unknown");
    if (release === undefined) {
      counters.refusedPending++;
      socket.destroy();
      return;
    }
    socket.once("close", release);
    const gate = new PacketGate(socket, {
      maxConnectBytes: limits.maxConnectBytes,
      maxPacketBytes: limits.maxPacketBytes,
      connectTimeoutMs: limits.connectTimeoutMs,
      onRefuse: (why) => counters[refusalCounter[why]]++,
    });
    gates.set(broker.handle(gate), { gate, release });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port: actualPort,
    url: `mqtt://127.0.0.1:${actualPort}`,
    broker,
    limits: Object.freeze({ ...limits }),
    get counters() {
      return { ...counters, pending: pending.size };
    },
    disconnect(deviceIdHex) {
      const client = devices.get(deviceIdHex);
      if (client === undefined) return Promise.resolve(false);
      devices.delete(deviceIdHex);
      return new Promise<boolean>((resolve) => client.close(() => resolve(true)));
    },
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await serverClosed;
      })();
      return closing;
    },
  };
}

function dropPacket(packet: PublishPacket): void {
  packet.topic = DROPPED_TOPIC;
  packet.payload = Buffer.alloc(0);
}
