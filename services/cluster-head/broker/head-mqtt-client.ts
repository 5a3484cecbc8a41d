/**
 * The head's own MQTT client (warnings, control notices, the set-up relay). On an administered
 * Mosquitto a broker restarted with a dynsec file that lacks the head's client refuses the head's
 * reconnect, and {@link MqttTransport} then stops for good (right for a device: its credential
 * ended). Here the refusal is temporary: the reconciliation that follows the admin connection's
 * return recreates the head's client with its password. So with `retryOnRefusal` this client
 * connects again with a new transport every `retryMs` until admitted, and subscribes to the same
 * topics; publishes in between fail (`E_CLOSED`) as they would while offline.
 */
import { EventEmitter } from "node:events";
import { MqttTransport, type MqttTransportError, type MqttTransportEvents } from "../../../transport/mqtt";

export interface HeadMqttClientOptions {
  /** Connect again after a refused reconnect (an administered broker); default false. */
  retryOnRefusal?: boolean;
  /** Delay between connect attempts after a refusal; default 1000 ms. */
  retryMs?: number;
}

export class HeadMqttClient extends EventEmitter<MqttTransportEvents> {
  readonly #connect: () => Promise<MqttTransport>;
  readonly #options: Required<HeadMqttClientOptions>;
  readonly #topics = new Set<string>();
  #transport: MqttTransport;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    connect: () => Promise<MqttTransport>,
    first: MqttTransport,
    options: Required<HeadMqttClientOptions>,
  ) {
    super();
    this.#connect = connect;
    this.#options = options;
    this.#transport = first;
    this.#attach(first);
  }

  /**
   * Connects with `connect` (which builds a transport with the head's credential).
   * @throws what `connect` throws: the first connection is not retried here
   */
  static async connect(
    connect: () => Promise<MqttTransport>,
    options: HeadMqttClientOptions = {},
  ): Promise<HeadMqttClient> {
    return new HeadMqttClient(connect, await connect(), {
      retryOnRefusal: options.retryOnRefusal ?? false,
      retryMs: options.retryMs ?? 1000,
    });
  }

  /** True while a connection to the broker is up. */
  get connected(): boolean {
    return this.#transport.connected;
  }

  /** QoS 1, not retained; resolves on PUBACK ({@link MqttTransport.publish}). */
  publish(topic: string, payload: Uint8Array): Promise<void> {
    return this.#transport.publish(topic, payload);
  }

  /** Subscribes, and subscribes again on every new transport ({@link MqttTransport.subscribe}). */
  async subscribe(topics: readonly string[]): Promise<number[]> {
    const granted = await this.#transport.subscribe(topics);
    for (const t of topics) this.#topics.add(t);
    return granted;
  }

  async close(force = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#transport.close(force);
    this.emit("close");
  }

  #attach(t: MqttTransport): void {
    t.on("message", (topic, payload) => this.emit("message", topic, payload));
    t.on("connect", (info) => this.emit("connect", info));
    t.on("resubscribed", (topics) => this.emit("resubscribed", topics));
    t.on("offline", () => this.emit("offline"));
    t.on("error", (error) => {
      this.#emitError(error);
      if (error.code === "E_BROKER_REFUSED" && this.#options.retryOnRefusal) this.#scheduleRetry();
    });
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#reconnect();
    }, this.#options.retryMs);
    this.#retry.unref();
  }

  async #reconnect(): Promise<void> {
    let t: MqttTransport;
    try {
      t = await this.#connect();
    } catch {
      // Still refused (the reconciliation has not run yet) or unreachable: try again later.
      this.#scheduleRetry();
      return;
    }
    if (this.#closed) {
      await t.close(true);
      return;
    }
    this.#transport = t;
    this.#attach(t);
    if (this.#topics.size > 0) {
      try {
        await t.subscribe([...this.#topics]);
      } catch (error) {
        this.#emitError(error as MqttTransportError);
      }
    }
    this.emit("connect", { sessionPresent: false, reconnect: true });
  }

  #emitError(error: MqttTransportError): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }
}
