/**
 * Direct delivery of M1's Grant (services/cluster-head/broker/grant-delivery.ts): the topic, and
 * each way it can fail into the relay. The publisher here stands in for the head's MQTT client so
 * each failure can be produced on demand (the embedded broker's in-process publisher runs against a
 * real aedes at the end); the real client and brokers are exercised end to end in
 * head-flow.test.ts, request-relay.test.ts, dynsec/dynsec-head.test.ts and the device SDK tests.
 */
import { Aedes } from "aedes";
import { describe, expect, it } from "vitest";
import {
  type DeliveryOutcome,
  embeddedGrantPublisher,
  type GrantPublisher,
  mqttGrantDelivery,
} from "../../../../services/cluster-head/broker/grant-delivery";
import { ctlTopic } from "../../../../transport/mqtt/topics";

const M1 = "ab".repeat(32);
const GRANT = new Uint8Array(72).fill(0x12);

function publisher(connected: boolean, publish: GrantPublisher["publish"]) {
  const sent: { topic: string; payload: Uint8Array }[] = [];
  return {
    sent,
    p: {
      connected,
      publish: (topic: string, payload: Uint8Array) => {
        sent.push({ topic, payload });
        return publish(topic, payload);
      },
    },
  };
}

describe("direct delivery of M1's Grant", () => {
  it("publishes the Grant unchanged on the initiator's ctl topic and reports it delivered once acknowledged", async () => {
    const outcomes: DeliveryOutcome[] = [];
    const { sent, p } = publisher(true, async () => {});
    const delivery = mqttGrantDelivery(p, "iotguard", 7, 1000, (o) => outcomes.push(o));
    expect(await delivery.deliver(M1, GRANT)).toBe(true);
    expect(sent).toEqual([{ topic: ctlTopic("iotguard", 7, M1), payload: GRANT }]);
    expect(outcomes).toEqual(["direct"]);
  });

  it("does not publish while the head's client is offline (MQTT.js would queue it): M2 relays", async () => {
    const outcomes: DeliveryOutcome[] = [];
    const { sent, p } = publisher(false, async () => {});
    const delivery = mqttGrantDelivery(p, "iotguard", 7, 1000, (o) => outcomes.push(o));
    expect(await delivery.deliver(M1, GRANT)).toBe(false);
    expect(sent).toEqual([]);
    expect(outcomes).toEqual(["offline"]);
  });

  it("reports a failed publish as not delivered, without throwing", async () => {
    const outcomes: DeliveryOutcome[] = [];
    const { p } = publisher(true, () => Promise.reject(new Error("E_CLOSED")));
    const delivery = mqttGrantDelivery(p, "iotguard", 7, 1000, (o) => outcomes.push(o));
    expect(await delivery.deliver(M1, GRANT)).toBe(false);
    expect(outcomes).toEqual(["failed"]);
  });

  it("gives up waiting for a PUBACK after the timeout, and a late one changes nothing", async () => {
    const outcomes: DeliveryOutcome[] = [];
    let ack: () => void = () => {};
    const { p } = publisher(true, () => new Promise<void>((resolve) => (ack = resolve)));
    const delivery = mqttGrantDelivery(p, "iotguard", 7, 20, (o) => outcomes.push(o));
    expect(await delivery.deliver(M1, GRANT)).toBe(false);
    ack();
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual(["timeout"]);
  });

  it("refuses a timeout that is not a positive integer", () => {
    const { p } = publisher(true, async () => {});
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => mqttGrantDelivery(p, "iotguard", 7, bad)).toThrow(RangeError);
  });
});

describe("the embedded broker as the Grant's publisher", () => {
  it("hands the Grant to a QoS 1 subscriber of the ctl topic in process and resolves once aedes routed it", async () => {
    const broker = await Aedes.createBroker();
    try {
      const topic = ctlTopic("iotguard", 1, M1);
      const received = new Promise<{ payload: Buffer; qos: number }>((resolve) =>
        broker.subscribe(
          topic,
          (packet, done) => {
            resolve({ payload: packet.payload as Buffer, qos: packet.qos });
            done();
          },
          () => {},
        ),
      );
      const publisher = embeddedGrantPublisher(broker);
      expect(publisher.connected).toBe(true);
      await publisher.publish(topic, GRANT);
      const packet = await received;
      expect(new Uint8Array(packet.payload)).toEqual(GRANT);
      expect(packet.qos).toBe(1);
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });

  it("is not connected once the broker closed, so the delivery falls back to the relay without publishing", async () => {
    const broker = await Aedes.createBroker();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    const outcomes: DeliveryOutcome[] = [];
    const delivery = mqttGrantDelivery(embeddedGrantPublisher(broker), "iotguard", 1, 50, (o) =>
      outcomes.push(o),
    );
    expect(await delivery.deliver(M1, GRANT)).toBe(false);
    expect(outcomes).toEqual(["offline"]);
  });

  it("rejects when aedes refuses the publish", async () => {
    const broker = await Aedes.createBroker({ maxTopicLevels: 2 });
    try {
      await expect(
        embeddedGrantPublisher(broker).publish(ctlTopic("iotguard", 1, M1), GRANT),
      ).rejects.toThrow(/too many levels/);
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });
});
