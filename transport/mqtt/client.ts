/**
 * A small typed wrapper over MQTT.js v5 for iotguard's binary frames (docs/mqtt.md).
 *
 * - MQTT 3.1.1 (`protocolVersion: 4`) everywhere: the embedded aedes broker speaks nothing else.
 * - `clean: false` by default, so QoS 1 frames queued by the broker while the device is offline
 *   are delivered on reconnect. Duplicates that QoS 1 may redeliver are the protocol replay
 *   window's job, not this layer's.
 * - Subscriptions are tracked here and re-sent whenever the broker answers a reconnect with
 *   `sessionPresent = false` (it lost or discarded the session), because MQTT.js forgets every
 *   topic of a SUBSCRIBE packet when one of them is refused.
 * - Credentials are passed to MQTT.js and never logged or put in errors.
 * - `mqtts://` checks the broker's certificate and host name, always (docs/mqtt.md § TLS); a failed
 *   handshake is `E_BROKER_TLS` at once, not a timeout.
 */
import { EventEmitter } from "node:events";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { isTlsBrokerUrl, redactBrokerUrl } from "./broker-url";
import type { BrokerTls } from "./broker-tls";
import { CONNACK_RETURN_CODES, MqttTransportError } from "./errors";
import { batchWritesPerRead } from "./write-batching";

export { MqttTransportError, type MqttTransportErrorCode } from "./errors";

/** Options for {@link MqttTransport.connect}. */
export interface MqttTransportOptions {
  /** MQTT client ID; for a device, its device ID hex (the embedded broker insists). */
  clientId: string;
  username?: string;
  /** Broker password; bytes are sent as is. Never logged. */
  password?: Uint8Array | string;
  /** Clean session flag; default `false` (keep subscriptions and queued QoS 1 frames). */
  clean?: boolean;
  /** Delay between reconnect attempts in ms; default 1000. 0 disables reconnecting. */
  reconnectPeriodMs?: number;
  /** How long the first connect may take in ms; default 10000. */
  connectTimeoutMs?: number;
  /** Keepalive in seconds; default 30. */
  keepaliveSec?: number;
  /** CA and client certificate for an `mqtts://` URL (refused with any other scheme). */
  tls?: BrokerTls;
  /** Flow control for incoming messages, installed before the first packet (see {@link IncomingGate}). */
  holdIncomingWhile?: IncomingGate;
}

/**
 * Asked after each incoming PUBLISH: `undefined` goes on at once; a promise holds the PUBACK and
 * every later packet until it settles; a rejected one sends no PUBACK (the broker keeps the
 * message for the next connection). See `MqttTransport.holdIncomingWhile`.
 */
export type IncomingGate = () => Promise<void> | undefined;

/** Events emitted by {@link MqttTransport}. */
export interface MqttTransportEvents {
  /** A PUBLISH arrived on a subscribed topic. Frames that arrive before the first listener is attached are held for it. */
  message: [topic: string, payload: Buffer];
  /** A CONNACK with return code 0 arrived (first connect and every reconnect). */
  connect: [info: { sessionPresent: boolean; reconnect: boolean }];
  /** Subscriptions were re-sent after the broker lost the session. */
  resubscribed: [topics: string[]];
  /** The connection dropped; MQTT.js will retry unless closed or refused. */
  offline: [];
  /** A typed error. After `E_BROKER_REFUSED` the transport stops reconnecting. */
  error: [error: MqttTransportError];
  /** The transport was closed for good. */
  close: [];
}

/** Frames held while no `message` listener is attached (see #wire); beyond this they are dropped. */
const MAX_EARLY_MESSAGES = 10_000;

const SOCKET_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EPIPE",
]);

/**
 * Why a TLS handshake failed, in words, for Node's (OpenSSL's) codes; undefined for an error that
 * is not about TLS. (OpenSSL verify codes: openssl-verify(1) § Diagnostics.)
 */
function tlsReason(code: string): string | undefined {
  if (
    /^(UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE)$/.test(
      code,
    )
  )
    return "the broker's certificate is not issued by a trusted CA (give the CA that issued it)";
  if (
    code === "ERR_TLS_CERT_ALTNAME_INVALID" ||
    code === "HOSTNAME_MISMATCH" ||
    code === "IP_ADDRESS_MISMATCH"
  )
    return "the broker's certificate does not name the host of the broker URL";
  if (code === "CERT_HAS_EXPIRED") return "the broker's certificate has expired";
  if (code === "CERT_NOT_YET_VALID") return "the broker's certificate is not valid yet";
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG")
    return "the broker does not speak TLS on this port";
  if (/^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA)/.test(code))
    return "the broker refused the handshake (it requires a client certificate it trusts)";
  if (/^ERR_SSL_|^ERR_TLS_|^CERT_|_CERT_|^UNABLE_TO_/.test(code)) return "TLS handshake failed";
  return undefined;
}

function tlsError(url: string, code: string, reason: string, cause: unknown): MqttTransportError {
  return new MqttTransportError(
    "E_BROKER_TLS",
    `TLS with ${redactBrokerUrl(url)} failed: ${reason} (${code})`,
    {
      tlsCode: code,
      cause,
    },
  );
}

function refusedError(returnCode: number): MqttTransportError {
  const reason = (CONNACK_RETURN_CODES as Record<number, string>)[returnCode] ?? "unknown return code";
  return new MqttTransportError(
    "E_BROKER_REFUSED",
    `broker refused the connection: ${reason} (${returnCode})`,
    {
      returnCode,
    },
  );
}

function safeUrl(url: string): string {
  // Never echo credentials embedded in a URL.
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}

/**
 * A connected MQTT client for binary frames.
 * @example
 * const t = await MqttTransport.connect("mqtt://127.0.0.1:1883", { clientId: deviceIdHex });
 * t.on("message", (topic, payload) => ...);
 * await t.subscribe(deviceSubscriptions("iotguard", 7, deviceIdHex));
 * await t.publish(inboxTopic("iotguard", 7, peerHex), frame);
 */
export class MqttTransport extends EventEmitter<MqttTransportEvents> {
  readonly #client: MqttClient;
  readonly #topics = new Set<string>();
  readonly #early: Array<[string, Buffer]> = [];
  readonly #clean: boolean;
  #closed = false;
  /** Rejecters of publishes not yet acknowledged, failed with E_CLOSED by close(). */
  readonly #inFlight = new Set<(error: Error) => void>();
  /** For a TLS URL: whether the first connection finished its handshake (see #wire). */
  #handshaken = false;

  private constructor(client: MqttClient, clean: boolean) {
    super();
    this.#client = client;
    this.#clean = clean;
  }

  /**
   * Connects and resolves after the first CONNACK with return code 0.
   * @param url `mqtt://host:port`
   * @throws MqttTransportError `E_BROKER_UNREACHABLE` (no TCP connection / timeout),
   *   `E_BROKER_REFUSED` (CONNACK return code in `returnCode`), `E_BAD_ARGUMENT`
   */
  static connect(url: string, options: MqttTransportOptions): Promise<MqttTransport> {
    if (typeof options?.clientId !== "string" || options.clientId.length === 0) {
      return Promise.reject(
        new MqttTransportError("E_BAD_ARGUMENT", "clientId: expected a non-empty string"),
      );
    }
    const tls = options.tls;
    if (tls !== undefined && !isTlsBrokerUrl(url)) {
      return Promise.reject(
        new MqttTransportError(
          "E_BAD_ARGUMENT",
          "tls: a CA or client certificate needs an mqtts:// broker URL",
        ),
      );
    }
    if (tls !== undefined && (tls.cert === undefined) !== (tls.key === undefined)) {
      return Promise.reject(
        new MqttTransportError(
          "E_BAD_ARGUMENT",
          "tls: give both cert and key (a client certificate), or neither",
        ),
      );
    }
    const clean = options.clean ?? false;
    const connectTimeout = options.connectTimeoutMs ?? 10_000;
    const opts: IClientOptions = {
      clientId: options.clientId,
      protocolVersion: 4,
      clean,
      reconnectPeriod: options.reconnectPeriodMs ?? 1000,
      connectTimeout,
      keepalive: options.keepaliveSec ?? 30,
      resubscribe: false, // done here, see the module comment
      reconnectOnConnackError: false,
      // MQTT.js's default too, stated because its TLS errors are only reported when it is set;
      // the host name is checked by Node against the certificate's subjectAltName (IP or DNS).
      rejectUnauthorized: true,
    };
    if (tls?.ca !== undefined) opts.ca = tls.ca;
    if (tls?.cert !== undefined && tls.key !== undefined) {
      opts.cert = tls.cert;
      opts.key = tls.key;
    }
    if (options.username !== undefined) opts.username = options.username;
    if (options.password !== undefined) {
      opts.password = typeof options.password === "string" ? options.password : Buffer.from(options.password);
    }
    const client = mqtt.connect(url, opts);
    const transport = new MqttTransport(client, clean);
    // Before any packet is handled: MQTT.js reads the socket asynchronously.
    if (options.holdIncomingWhile) transport.#installGate(options.holdIncomingWhile);
    // MQTT.js builds the socket synchronously in connect(): a reset before this event is the
    // broker dropping the handshake, not an unreachable broker.
    client.stream?.once("secureConnect", () => {
      transport.#handshaken = true;
    });
    return new Promise<MqttTransport>((resolve, reject) => {
      let settled = false;
      const fail = (err: MqttTransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        transport.#closed = true;
        client.end(true);
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new MqttTransportError(
              "E_BROKER_UNREACHABLE",
              `no CONNACK from ${safeUrl(url)} within ${connectTimeout} ms`,
            ),
          ),
        connectTimeout,
      );
      client.once("connect", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(transport);
      });
      transport.#wire(url, (err) => fail(err));
    });
  }

  #wire(url: string, failFirst: (err: MqttTransportError) => void): void {
    const client = this.#client;
    let connectedOnce = false;
    client.on("connect", (connack) => {
      // Small packets written back to back (a PUBACK, then a PUBLISH) would wait for the broker's
      // delayed ACK under Nagle's algorithm, ~40 ms each: the head's set-up relay does exactly that.
      (client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined)?.setNoDelay?.(true);
      // The acknowledgements of one read leave in one write (./write-batching.ts).
      if (client.stream) batchWritesPerRead(client.stream);
      const reconnect = connectedOnce;
      connectedOnce = true;
      this.emit("connect", { sessionPresent: connack.sessionPresent, reconnect });
      if (reconnect && (this.#clean || !connack.sessionPresent) && this.#topics.size > 0) {
        const topics = [...this.#topics];
        client.subscribe(topics, { qos: 1 }, (err) => {
          if (err)
            this.#emitError(
              new MqttTransportError("E_SUBSCRIBE_REFUSED", "resubscription refused", { topics, cause: err }),
            );
          else this.emit("resubscribed", topics);
        });
      }
    });
    client.on("message", (topic, payload) => {
      if (this.listenerCount("message") > 0) this.emit("message", topic, payload);
      else if (this.#early.length < MAX_EARLY_MESSAGES) this.#early.push([topic, payload]);
    });
    // Frames queued for a persistent session can arrive in the same TCP read as the CONNACK,
    // before connect() has resolved and the caller attached a listener: hold them until it does.
    (this as EventEmitter).on("newListener", (event: string | symbol) => {
      if (event !== "message" || this.#early.length === 0) return;
      queueMicrotask(() => {
        for (const [topic, payload] of this.#early.splice(0)) this.emit("message", topic, payload);
      });
    });
    client.on("offline", () => this.emit("offline"));
    client.on("error", (err: Error & { code?: unknown }) => {
      let typed: MqttTransportError;
      const reason = typeof err.code === "string" ? tlsReason(err.code) : undefined;
      if (typeof err.code === "number") typed = refusedError(err.code);
      else if (reason !== undefined) typed = tlsError(url, err.code as string, reason, err);
      else if (
        /before secure TLS connection was established/.test(err.message) ||
        (err.code === "ECONNRESET" && !connectedOnce && !this.#handshaken && isTlsBrokerUrl(url))
      )
        typed = tlsError(
          url,
          typeof err.code === "string" ? err.code : "ECONNRESET",
          "the broker closed the connection during the TLS handshake (no TLS on this port?)",
          err,
        );
      else if (err.message === "TLS not authorized")
        typed = tlsError(url, "TLS_NOT_AUTHORIZED", "the broker's certificate was not authorized", err);
      else if (typeof err.code === "string" && SOCKET_ERROR_CODES.has(err.code)) {
        typed = new MqttTransportError("E_BROKER_UNREACHABLE", `cannot reach ${safeUrl(url)}: ${err.code}`, {
          cause: err,
        });
      } else typed = new MqttTransportError("E_PUBLISH_FAILED", err.message, { cause: err });
      if (!connectedOnce) {
        failFirst(typed);
        return;
      }
      if (typed.code === "E_BROKER_REFUSED") {
        // Refused on reconnect (e.g. revoked, credential expired): retrying cannot help.
        void this.close(true);
      }
      this.#emitError(typed);
    });
  }

  #emitError(err: MqttTransportError): void {
    // An EventEmitter 'error' without listeners throws; a transport error must not crash the host.
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  /** True while a connection to the broker is up. */
  get connected(): boolean {
    return this.#client.connected;
  }

  /** Topics this transport is subscribed to (and re-subscribes after a lost session). */
  get subscriptions(): string[] {
    return [...this.#topics];
  }

  /**
   * Subscribes to `topics` with QoS 1.
   * @returns the granted QoS per topic, in order
   * @throws MqttTransportError `E_SUBSCRIBE_REFUSED` listing the refused topics (granted 0x80);
   *   the accepted ones stay subscribed
   */
  async subscribe(topics: readonly string[]): Promise<number[]> {
    this.#assertOpen();
    if (
      !Array.isArray(topics) ||
      topics.length === 0 ||
      topics.some((t) => typeof t !== "string" || t.length === 0)
    ) {
      throw new MqttTransportError(
        "E_BAD_ARGUMENT",
        "topics: expected a non-empty array of non-empty strings",
      );
    }
    const granted = await new Promise<number[]>((resolve, reject) => {
      // On a refusal MQTT.js reports the requested QoS in `grants`; the SUBACK is the third argument.
      this.#client.subscribe([...topics], { qos: 1 }, (err, grants, suback) => {
        const codes = suback?.granted;
        if (Array.isArray(codes) && codes.length === topics.length) resolve(codes.map(Number));
        else if (err)
          reject(new MqttTransportError("E_SUBSCRIBE_REFUSED", err.message, { topics, cause: err }));
        else resolve((grants ?? []).map((g) => g.qos));
      });
    });
    const refused = topics.filter((_, i) => ((granted[i] ?? 0x80) & 0x80) !== 0);
    topics.forEach((t, i) => {
      if (((granted[i] ?? 0x80) & 0x80) === 0) this.#topics.add(t);
    });
    if (refused.length > 0) {
      throw new MqttTransportError(
        "E_SUBSCRIBE_REFUSED",
        `subscription refused for ${refused.length} topic(s)`,
        { topics: refused },
      );
    }
    return granted;
  }

  /** Unsubscribes and stops re-subscribing to `topics`. */
  async unsubscribe(topics: readonly string[]): Promise<void> {
    this.#assertOpen();
    for (const t of topics) this.#topics.delete(t);
    await this.#client.unsubscribeAsync([...topics]);
  }

  /**
   * Flow control for incoming messages, as {@link MqttTransportOptions.holdIncomingWhile} (which
   * installs it before the first packet can arrive): from now on.
   */
  holdIncomingWhile(gate: IncomingGate): void {
    this.#installGate(gate);
  }

  /**
   * After each PUBLISH is handed to `message` listeners, `gate()` may return a promise: until it
   * settles, the message's PUBACK and the handling of every later packet wait (MQTT.js's
   * `handleMessage`, which also stops reading the socket), so the broker keeps what this client
   * cannot take yet. A rejection sends no PUBACK (the broker redelivers the message on the next
   * connection). A hold lasts a third of the keepalive at most: after that every message goes on
   * at once until the gate lets one through by itself, so the PINGRESPs queued behind them are
   * read before the keepalive runs out. A message whose connection has dropped meanwhile is never
   * acknowledged on another one (the broker resends it there).
   */
  #installGate(gate: IncomingGate): void {
    const client = this.#client;
    const maxHoldMs = Math.max(1, (client.options.keepalive ?? 30) * 1000) / 3;
    /** When the current hold began (undefined: no hold); past maxHoldMs messages go on at once. */
    let holdingSince: number | undefined;
    client.handleMessage = (_packet, callback) => {
      const wait = gate();
      if (wait === undefined) {
        holdingSince = undefined;
        callback();
        return;
      }
      const now = Date.now();
      holdingSince ??= now;
      const left = holdingSince + maxHoldMs - now;
      // The socket this message came on: a reconnect replaces it before MQTT.js's `connect`.
      const stream = client.stream;
      const stillOurs = () => client.stream === stream && !stream.destroyed && client.connected;
      let timer: NodeJS.Timeout | undefined;
      new Promise<void>((resolve, reject) => {
        if (left <= 0) return resolve();
        timer = setTimeout(resolve, left);
        wait.then(resolve, reject);
      }).then(
        () => {
          clearTimeout(timer);
          callback(stillOurs() ? undefined : new Error("superseded connection"));
        },
        (error: unknown) => {
          clearTimeout(timer);
          callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
    };
  }

  /**
   * Publishes a binary frame with QoS 1, not retained.
   * Resolves on PUBACK. While offline the frame waits in MQTT.js's outgoing store and is sent
   * (with DUP set if it had been sent before) on reconnect.
   * @throws MqttTransportError `E_BAD_ARGUMENT`, `E_CLOSED`, `E_PUBLISH_FAILED`
   */
  async publish(topic: string, payload: Uint8Array): Promise<void> {
    this.#assertOpen();
    if (typeof topic !== "string" || topic.length === 0)
      throw new MqttTransportError("E_BAD_ARGUMENT", "topic: expected a non-empty string");
    if (!(payload instanceof Uint8Array))
      throw new MqttTransportError("E_BAD_ARGUMENT", "payload: expected bytes");
    const buf = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    await new Promise<void>((resolve, reject) => {
      this.#inFlight.add(reject);
      this.#client.publish(topic, buf, { qos: 1, retain: false }, (err) => {
        this.#inFlight.delete(reject);
        if (err)
          reject(
            new MqttTransportError(this.#closed ? "E_CLOSED" : "E_PUBLISH_FAILED", err.message, {
              cause: err,
            }),
          );
        else resolve();
      });
    });
  }

  /**
   * Closes the connection (sends DISCONNECT unless `force`). Idempotent.
   * @param force drop the socket without waiting for in-flight packets
   */
  async close(force = false): Promise<void> {
    if (this.#closed && this.#client.disconnected) return;
    this.#closed = true;
    await this.#client.endAsync(force);
    // MQTT.js drops the callbacks of QoS 1 publishes still waiting for their PUBACK when it ends
    // (forced or not): without this their callers would wait forever.
    for (const reject of this.#inFlight)
      reject(new MqttTransportError("E_CLOSED", "transport closed before the broker acknowledged"));
    this.#inFlight.clear();
    this.emit("close");
  }

  #assertOpen(): void {
    if (this.#closed) throw new MqttTransportError("E_CLOSED", "transport is closed");
  }
}
