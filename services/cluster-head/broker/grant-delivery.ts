/**
 * Direct delivery of M1's Grant (docs/protocol.md § Direct delivery of M1's Grant): the head
 * publishes the initiator's copy on the initiator's own `ctl` topic, which only the head may
 * publish to and only that member may read (the embedded broker's hooks and the dynsec member
 * role, docs/mqtt.md § Access control), so M2's answer carries only M2's Grant. The Grant is sealed
 * under M1's K_m and names both identities: the topic adds no trust, M1 runs the same checks as
 * for a relayed copy.
 *
 * The grant is recorded durably before it is handed here, so delivery never decides issuance:
 * `false` only tells the use case to fall back to the relay through M2.
 */
import { ctlTopic } from "../../../transport/mqtt";

/** Hands an initiator's Grant to the initiator. */
export interface GrantDelivery {
  /**
   * Publishes `grant` for `initiator` and waits for the broker's acknowledgement.
   * @returns true once the broker took it (QoS 1 PUBACK); false when the head's client is offline,
   *   the publish failed, or no PUBACK came within the delivery timeout (the copy may still arrive:
   *   M1 accepts a Grant once and refuses the second copy as a replay). Never throws.
   */
  deliver(initiator: string, grant: Uint8Array): Promise<boolean>;
}

/** What a delivery needs of the head's MQTT client. */
export interface GrantPublisher {
  readonly connected: boolean;
  publish(topic: string, payload: Uint8Array): Promise<void>;
}

/** What an in-process publish needs of the embedded broker (aedes). */
export interface InProcessBroker {
  readonly closed: boolean;
  publish(
    packet: { cmd: "publish"; topic: string; payload: Buffer; qos: 1; retain: false; dup: false },
    done: (error?: Error | null) => void,
  ): void;
}

/**
 * The embedded broker as the Grant's publisher: the head hands the Grant to aedes in its own
 * process instead of through its MQTT client's connection to that same process, which cost a grant
 * an MQTT encoding, a TCP round trip, a parse, the ACL hook and a PUBACK each way (about a third
 * more head CPU per grant, `npm run bench -- grant`, the direct-delivery row). aedes routes it
 * exactly as a client's QoS 1 publish once authorised (queued for M1's persistent session when M1
 * is offline, delivered with QoS 1 when it is online) and calls back once it did; the ACL hook is
 * for clients, and the head is the one principal allowed on `ctl` topics anyway.
 */
export function embeddedGrantPublisher(broker: InProcessBroker): GrantPublisher {
  return {
    get connected() {
      return !broker.closed;
    },
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) =>
        broker.publish(
          {
            cmd: "publish",
            topic,
            payload: Buffer.from(payload.buffer, payload.byteOffset, payload.length),
            qos: 1,
            retain: false,
            dup: false,
          },
          (error) => (error ? reject(error) : resolve()),
        ),
      ),
  };
}

/**
 * A local broker acknowledges in milliseconds; past this M2 relays instead, so a slow broker costs
 * the grant at most this long (M2's HTTP call waits 15 s).
 */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 2_000;

/**
 * Delivery through a publisher: the head's own MQTT client, or the embedded broker itself.
 * @param publisher - the head's client, or {@link embeddedGrantPublisher}
 * @param topicPrefix - the cluster's topic prefix
 * @param clusterId - the cluster
 * @param timeoutMs - how long to wait for the PUBACK before falling back
 * @param onOutcome - told `direct` or why not, for metrics and logs
 */
export function mqttGrantDelivery(
  publisher: GrantPublisher,
  topicPrefix: string,
  clusterId: number,
  timeoutMs = DEFAULT_DELIVERY_TIMEOUT_MS,
  onOutcome: (outcome: DeliveryOutcome) => void = () => {},
): GrantDelivery {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new RangeError("grant delivery timeoutMs: expected a positive integer");
  return {
    async deliver(initiator, grant) {
      // Offline, MQTT.js would queue the publish and send it on reconnect: relay now instead.
      if (!publisher.connected) {
        onOutcome("offline");
        return false;
      }
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<DeliveryOutcome>((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const published = publisher.publish(ctlTopic(topicPrefix, clusterId, initiator), grant).then(
        (): DeliveryOutcome => "direct",
        (): DeliveryOutcome => "failed",
      );
      const outcome = await Promise.race([published, expired]);
      clearTimeout(timer);
      onOutcome(outcome);
      return outcome === "direct";
    },
  };
}

/** How one delivery went: `direct`, or why M2 relays instead. */
export type DeliveryOutcome = "direct" | "offline" | "failed" | "timeout";
