/**
 * The curious-observer helper works: `mosquitto_sub` on the machine's Mosquitto sees every frame
 * published under the run's prefix, topic and bytes, so tests using it can assert what a broker sees.
 */
import { describe, expect, it } from "vitest";
import { MqttTransport } from "../../../transport/mqtt/client";
import { inboxTopic } from "../../../transport/mqtt/topics";
import { observeWithMosquittoSub } from "../../../testkit/observe-broker";
import {
  MACHINE_MOSQUITTO,
  randomDeviceId,
  randomPrefix,
  requireMachineMosquitto,
  waitFor,
} from "../../../testkit/brokers";

describe("observeWithMosquittoSub", () => {
  it("records the topic and payload of every frame published under the prefix", async () => {
    await requireMachineMosquitto();
    const prefix = randomPrefix();
    const observer = await observeWithMosquittoSub(
      MACHINE_MOSQUITTO.host,
      MACHINE_MOSQUITTO.port,
      `${prefix}/#`,
    );
    const sender = await MqttTransport.connect(`mqtt://${MACHINE_MOSQUITTO.host}:${MACHINE_MOSQUITTO.port}`, {
      clientId: `observer-test-${randomDeviceId().slice(0, 16)}`,
      clean: true,
    });
    const topic = inboxTopic(prefix, 3, randomDeviceId());
    const marker = `plaintext-marker-${randomDeviceId().slice(0, 8)}`;
    let raw: Buffer;
    try {
      await sender.publish(topic, Buffer.from(marker));
      await waitFor(
        () => Buffer.concat(observer.output()).includes(marker),
        "the observer to print the frame",
      );
    } finally {
      raw = Buffer.concat(await observer.stop());
      await sender.close();
    }
    expect(raw.toString("latin1")).toContain(`${topic} ${marker}`);
  });
});
