/**
 * Request/response over Mosquitto's dynamic-security control topic (mosquitto 2.0
 * `plugins/dynamic-security/README.md`): a JSON `{"commands":[…]}` published to
 * `$CONTROL/dynamic-security/v1`, answered by `{"responses":[…]}` on `…/v1/response`. Every command
 * carries a `correlationData` of ours, echoed in its response, so answers are matched even when
 * another admin client shares the response topic.
 *
 * A command is only sent while the admin connection is up and subscribed: a command queued by
 * MQTT.js while offline would be replayed on reconnect, possibly long after the head's state moved
 * on (the reconciliation that follows each reconnect repairs whatever a lost answer left unknown).
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { MqttTransport, type MqttTransportOptions } from "../../../../transport/mqtt";
import { BrokerAdminError } from "./errors";

export const CONTROL_TOPIC = "$CONTROL/dynamic-security/v1";
export const RESPONSE_TOPIC = `${CONTROL_TOPIC}/response`;
/** How long a command may wait for its response by default. */
export const DEFAULT_ADMIN_TIMEOUT_MS = 5000;

/** One dynsec command, e.g. `{ command: "deleteClient", username }`. */
export interface DynsecCommand {
  command: string;
  [field: string]: unknown;
}

/** The plugin's answer to one command: `error` set when it refused it. */
export interface DynsecResult {
  command: string;
  error?: string;
  data?: unknown;
}

export interface AdminCredential {
  username: string;
  /** Secret: never logged. */
  password: string;
}

export interface ControlClientOptions {
  clientId: string;
  timeoutMs?: number;
  /** Delay between reconnect attempts; default 1000 ms. */
  reconnectPeriodMs?: number;
  /** CA and client certificate for an mqtts:// broker (docs/mqtt.md § TLS). */
  tls?: MqttTransportOptions["tls"];
}

export interface ControlClientEvents {
  /** The admin connection came back and is subscribed again: the broker's state must be re-read. */
  reconnected: [];
  /** The admin connection dropped. */
  offline: [];
}

interface Pending {
  results: (DynsecResult | undefined)[];
  missing: number;
  resolve(results: DynsecResult[]): void;
  reject(error: BrokerAdminError): void;
  timer: NodeJS.Timeout;
}

export class DynsecControlClient extends EventEmitter<ControlClientEvents> {
  readonly #transport: MqttTransport;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, Pending>();
  #ready = true;

  private constructor(transport: MqttTransport, timeoutMs: number) {
    super();
    this.#transport = transport;
    this.#timeoutMs = timeoutMs;
    transport.on("message", (topic, payload) => {
      if (topic === RESPONSE_TOPIC) this.#onResponse(payload);
    });
    transport.on("offline", () => {
      this.#ready = false;
      this.#failAll("the broker admin connection dropped");
      this.emit("offline");
    });
    // clean: true, so every reconnect re-subscribes (MqttTransport) and then says so.
    transport.on("resubscribed", () => {
      this.#ready = true;
      this.emit("reconnected");
    });
    transport.on("error", () => {
      // Typed transport errors surface as unavailability of the next command; nothing to log here.
    });
  }

  /**
   * Connects as the dynsec admin and subscribes to the response topic.
   * @param url the broker URL without userinfo
   * @throws MqttTransportError E_BROKER_UNREACHABLE / E_BROKER_REFUSED (wrong admin credential)
   */
  static async connect(
    url: string,
    credential: AdminCredential,
    options: ControlClientOptions,
  ): Promise<DynsecControlClient> {
    const transport = await MqttTransport.connect(url, {
      clientId: options.clientId,
      username: credential.username,
      password: credential.password,
      clean: true,
      reconnectPeriodMs: options.reconnectPeriodMs ?? 1000,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    try {
      await transport.subscribe([RESPONSE_TOPIC]);
    } catch (error) {
      await transport.close(true);
      throw error;
    }
    return new DynsecControlClient(transport, options.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS);
  }

  /** Whether commands can be sent now. */
  get connected(): boolean {
    return this.#ready && this.#transport.connected;
  }

  /**
   * Sends `commands` in one message and resolves with one result per command, in order; a refused
   * command is a result with `error`, not a rejection.
   * @throws BrokerAdminError E_BROKER_ADMIN_UNAVAILABLE (not connected), E_BROKER_ADMIN_TIMEOUT
   */
  async run(commands: readonly DynsecCommand[]): Promise<DynsecResult[]> {
    if (commands.length === 0) return [];
    if (!this.connected)
      throw new BrokerAdminError("E_BROKER_ADMIN_UNAVAILABLE", "the broker admin connection is down");
    const id = randomBytes(8).toString("hex");
    const tagged = commands.map((c, i) => ({ ...c, correlationData: `${id}.${i}` }));
    const answered = new Promise<DynsecResult[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new BrokerAdminError(
            "E_BROKER_ADMIN_TIMEOUT",
            `no answer from the broker's dynamic-security plugin within ${this.#timeoutMs} ms`,
            commands[0]!.command,
          ),
        );
      }, this.#timeoutMs);
      this.#pending.set(id, {
        results: new Array<DynsecResult | undefined>(commands.length),
        missing: commands.length,
        resolve,
        reject,
        timer,
      });
    });
    // The answer may be rejected (close, connection lost) while the publish below is still awaited,
    // before the caller gets the promise: mark it handled so Node does not end the process for it.
    answered.catch(() => undefined);
    try {
      await this.#transport.publish(CONTROL_TOPIC, Buffer.from(JSON.stringify({ commands: tagged })));
    } catch {
      this.#settle(id, (p) =>
        p.reject(new BrokerAdminError("E_BROKER_ADMIN_UNAVAILABLE", "the command could not be sent")),
      );
    }
    return answered;
  }

  /**
   * Like {@link run}, but a refused command rejects, unless `tolerate(result)` says the refusal
   * means the wanted state already holds (e.g. "Client not found" for a delete).
   * @throws BrokerAdminError E_BROKER_ADMIN_REFUSED naming the command and the plugin's reason
   */
  async runOk(
    commands: readonly DynsecCommand[],
    tolerate: (result: DynsecResult) => boolean = () => false,
  ): Promise<DynsecResult[]> {
    const results = await this.run(commands);
    const refused = results.find((r) => r.error !== undefined && !tolerate(r));
    if (refused)
      throw new BrokerAdminError(
        "E_BROKER_ADMIN_REFUSED",
        `the broker refused ${refused.command}: ${refused.error}`,
        refused.command,
      );
    return results;
  }

  async close(): Promise<void> {
    this.#failAll("the broker admin connection was closed");
    await this.#transport.close(true);
  }

  #onResponse(payload: Buffer): void {
    let responses: unknown;
    try {
      responses = (JSON.parse(payload.toString("utf8")) as { responses?: unknown }).responses;
    } catch {
      return;
    }
    if (!Array.isArray(responses)) return;
    for (const response of responses as Array<Record<string, unknown>>) {
      const tag = response?.correlationData;
      if (typeof tag !== "string") continue;
      const [id, index] = tag.split(".");
      const pending = id === undefined ? undefined : this.#pending.get(id);
      const i = Number(index);
      if (!pending || !Number.isInteger(i) || i < 0 || i >= pending.results.length) continue;
      if (pending.results[i] === undefined) pending.missing--;
      pending.results[i] = {
        command: String(response.command),
        ...(typeof response.error === "string" ? { error: response.error } : {}),
        ...(response.data === undefined ? {} : { data: response.data }),
      };
      if (pending.missing === 0) this.#settle(id!, (p) => p.resolve(p.results as DynsecResult[]));
    }
  }

  #settle(id: string, how: (pending: Pending) => void): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    how(pending);
  }

  #failAll(reason: string): void {
    for (const id of [...this.#pending.keys()])
      this.#settle(id, (p) => p.reject(new BrokerAdminError("E_BROKER_ADMIN_UNAVAILABLE", reason)));
  }
}
