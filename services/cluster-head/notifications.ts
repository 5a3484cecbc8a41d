/**
 * What the head tells members over MQTT: warnings about unverified initiators (to M2's warn topic)
 * and notices when a peer's membership ends (to each peer's ctl topic). A revoked device is also
 * disconnected from the embedded broker (an administered Mosquitto disconnects it when
 * endMembership deletes its client, before this event).
 */
import { fromHex, NoticeKind, sealHeadNotice } from "../../protocol";
import { ctlTopic, warnTopic } from "../../transport/mqtt";
import type { HeadBroker } from "./broker/head-broker";
import type { HeadContext } from "./context";

export function wireNotifications(ctx: HeadContext, broker: HeadBroker): void {
  const { topicPrefix, clusterId } = ctx.config;
  const publish = (topic: string, payload: Uint8Array, what: string) =>
    broker.client
      .publish(topic, payload)
      .catch((error: Error) => ctx.logger.warn({ err: error.message, what }, "MQTT notification failed"));

  ctx.events.on("warning", ({ toDeviceId, message }) => {
    void publish(warnTopic(topicPrefix, clusterId, toDeviceId), message, "grant warning");
  });

  ctx.events.on("revoked", ({ deviceId, peers }) => {
    void broker.disconnect(deviceId);
    const now = ctx.now();
    for (const peer of peers) {
      const member = ctx.members.getByDevice(peer);
      if (!member) continue;
      const notice = sealHeadNotice(clusterId, member.membership, {
        kind: NoticeKind.PEER_ENDED,
        subject: fromHex(deviceId),
        issuedAt: now,
      });
      void publish(ctlTopic(topicPrefix, clusterId, peer), notice, "peer ended");
    }
  });
}
