/**
 * The device's MQTT link: connects with clientId = username = device ID and the broker credential
 * derived from K_m, subscribes to its own inbox, warn and ctl topics, wraps outgoing protocol
 * messages in the inbox envelope (`senderDeviceId || message`, transport/mqtt/envelope.ts) and
 * hands incoming payloads to the session manager by channel.
 */
import { EventEmitter } from "node:events";
import {
  assertBrokerUrlConfidential,
  type BrokerTls,
  decodeEnvelope,
  deviceSubscriptions,
  encodeEnvelope,
  encodeSetupPayload,
  type Envelope,
  type IncomingGate,
  inboxTopic,
  MqttTransport,
  MqttTransportError,
  parseTopic,
  setupTopic,
} from "../../transport/mqtt";
import { DeviceError } from "./errors";

export interface MqttLinkOptions {
  brokerUrl: string;
  topicPrefix: string;
  clusterId: number;
  deviceId: Uint8Array;
  deviceIdHex: string;
  /** Broker password (hex of the derived credential). Never logged. */
  password: string;
  reconnectPeriodMs?: number;
  /** CA and client certificate for an `mqtts://` broker. */
  tls?: BrokerTls;
  /** Connect in plaintext to a broker that is not on loopback (see {@link MqttLink.connect}). */
  allowPlainMqtt?: boolean;
  /** Flow control for incoming messages, from the first packet on (`MqttTransport`'s {@link IncomingGate}). */
  holdIncomingWhile?: IncomingGate;
}

export interface MqttLinkEvents {
  inbox: [envelope: Envelope];
  warn: [payload: Uint8Array];
  ctl: [payload: Uint8Array];
  /** The broker refused a reconnect (credential expired, device revoked): the link is closed. */
  refused: [error: MqttTransportError];
  /** Payloads that were not for us or not an envelope. */
  dropped: [reason: string];
  offline: [];
  reconnected: [];
}

export class MqttLink extends EventEmitter<MqttLinkEvents> {
  private constructor(
    private readonly transport: MqttTransport,
    private readonly o: MqttLinkOptions,
  ) {
    super();
  }

  /**
   * Connects and subscribes. A plaintext `mqtt://` URL to another machine is refused before
   * anything is sent, unless `allowPlainMqtt`: the broker credential and every topic name would
   * cross the network in clear (docs/mqtt.md § TLS).
   * @param attach - called with the link before any message can be passed on: the messages a
   *   broker queued for our persistent session arrive right after the CONNACK, and one emitted
   *   before its listener is attached would be lost after MQTT.js acknowledged it
   * @throws DeviceError E_PLAINTEXT_BROKER, E_BROKER_TLS, E_BROKER_UNREACHABLE (with a hint),
   *   E_BROKER_REFUSED, E_BAD_ARGUMENT
   */
  static async connect(
    o: MqttLinkOptions,
    attach: (link: MqttLink) => void = () => undefined,
  ): Promise<MqttLink> {
    try {
      assertBrokerUrlConfidential(o.brokerUrl, {
        allowPlaintext: o.allowPlainMqtt ?? false,
        allowSetting: "allowPlainMqtt (--allow-plain-mqtt)",
      });
    } catch (error) {
      const e = error as MqttTransportError;
      throw new DeviceError(
        e.code === "E_PLAINTEXT_BROKER" ? "E_PLAINTEXT_BROKER" : "E_BAD_ARGUMENT",
        e.message,
        {
          cause: e,
        },
      );
    }
    let transport: MqttTransport;
    try {
      transport = await MqttTransport.connect(o.brokerUrl, {
        clientId: o.deviceIdHex,
        username: o.deviceIdHex,
        password: o.password,
        clean: false,
        reconnectPeriodMs: o.reconnectPeriodMs ?? 1000,
        connectTimeoutMs: 5000,
        ...(o.tls ? { tls: o.tls } : {}),
        ...(o.holdIncomingWhile ? { holdIncomingWhile: o.holdIncomingWhile } : {}),
      });
    } catch (error) {
      const e = error as MqttTransportError;
      if (e.code === "E_BROKER_TLS" || e.code === "E_BAD_ARGUMENT")
        throw new DeviceError(e.code, e.message, { cause: e });
      if (e.code === "E_BROKER_REFUSED")
        throw new DeviceError("E_BROKER_REFUSED", `${e.message}: join again (\`iotguard device join\`)`, {
          cause: e,
        });
      throw new DeviceError(
        "E_BROKER_UNREACHABLE",
        `${e.message}; is the cluster head (embedded broker) or Mosquitto running? Start one with \`npm run cluster-head\` or \`mosquitto -d\``,
        { cause: e },
      );
    }
    const link = new MqttLink(transport, o);
    attach(link);
    link.wire();
    try {
      await transport.subscribe(deviceSubscriptions(o.topicPrefix, o.clusterId, o.deviceIdHex));
    } catch (error) {
      // Not left running behind the caller's back (a retry would compete for the client ID).
      link.removeAllListeners();
      await transport.close(true);
      throw error;
    }
    return link;
  }

  private wire(): void {
    this.transport.on("message", (topic, payload) => {
      const parsed = parseTopic(this.o.topicPrefix, topic);
      if (
        parsed?.kind !== "device" ||
        parsed.deviceId !== this.o.deviceIdHex ||
        parsed.clusterId !== this.o.clusterId
      ) {
        this.emit("dropped", "foreign topic");
        return;
      }
      const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
      if (parsed.channel === "inbox") {
        let envelope: Envelope;
        try {
          envelope = decodeEnvelope(bytes);
        } catch {
          this.emit("dropped", "not an envelope");
          return;
        }
        this.emit("inbox", envelope);
      } else if (parsed.channel === "warn") this.emit("warn", bytes);
      else this.emit("ctl", bytes);
    });
    this.transport.on("error", (error) => {
      if (error.code === "E_BROKER_REFUSED") this.emit("refused", error);
    });
    this.transport.on("offline", () => this.emit("offline"));
    this.transport.on("connect", ({ reconnect }) => {
      if (reconnect) this.emit("reconnected");
    });
  }

  get connected(): boolean {
    return this.transport.connected;
  }

  /** Publishes `message` in an envelope to `peerIdHex`'s inbox (QoS 1; resolves on PUBACK). */
  async sendTo(peerIdHex: string, message: Uint8Array): Promise<void> {
    await this.transport.publish(
      inboxTopic(this.o.topicPrefix, this.o.clusterId, peerIdHex),
      encodeEnvelope(this.o.deviceId, message),
    );
  }

  /**
   * Publishes an inbox envelope the caller built (`our device ID || message`, e.g. by the channel's
   * `sealWithPrefix`) to `peerIdHex`'s inbox (QoS 1; resolves on PUBACK).
   * @throws DeviceError E_BAD_ARGUMENT when it does not start with our device ID
   */
  async sendEnvelope(peerIdHex: string, envelope: Uint8Array): Promise<void> {
    const own = this.o.deviceId;
    let differs = envelope.length < own.length ? 1 : 0;
    for (let i = 0; i < own.length && differs === 0; i++)
      differs = (envelope[i] as number) ^ (own[i] as number);
    if (differs !== 0) throw new DeviceError("E_BAD_ARGUMENT", "envelope: does not start with our device ID");
    await this.transport.publish(inboxTopic(this.o.topicPrefix, this.o.clusterId, peerIdHex), envelope);
  }

  /**
   * Publishes a session set-up message for `peerIdHex` (SessionRequest, or, as M2, the initiator's
   * Grant when the head could not deliver it itself) to our own set-up topic as `peerId || message`;
   * the head relays it to the peer's inbox (docs/mqtt.md § Session set-up through the head). QoS 1;
   * resolves on PUBACK.
   */
  async sendSetup(peerIdHex: string, message: Uint8Array): Promise<void> {
    await this.transport.publish(
      setupTopic(this.o.topicPrefix, this.o.clusterId, this.o.deviceIdHex),
      encodeSetupPayload(Buffer.from(peerIdHex, "hex"), message),
    );
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
