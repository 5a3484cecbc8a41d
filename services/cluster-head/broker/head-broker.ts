/**
 * The head's side of MQTT: the embedded aedes broker (default) with hooks that consult the head's
 * members, index and sessions, or an external broker (Mosquitto) that the head only publishes to.
 * Either way the head itself publishes through an ordinary MQTT client.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { brokerPassword } from "../../../protocol";
import { isDeviceIdHex, MqttTransport } from "../../../transport/mqtt";
import type { HeadContext } from "../context";
import { isCurrentMember } from "../use-cases/membership-standing";
import { type EmbeddedBroker, type Principal, startEmbeddedBroker } from "./embedded-broker";
import { mayPublishToInbox } from "./publish-policy";

/** Username of the head's own MQTT client. */
export const HEAD_USERNAME = "iotguard-head";

export interface HeadBroker {
  /** Where devices connect. */
  url: string;
  embedded: EmbeddedBroker | undefined;
  /** The head's own client, for warnings and control messages. */
  client: MqttTransport;
  status(): { up: boolean; url: string; embedded: boolean };
  /** Closes a device's connection (embedded broker only; external brokers enforce nothing here). */
  disconnect(deviceId: string): Promise<boolean>;
  close(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startHeadBroker(ctx: HeadContext): Promise<HeadBroker> {
  const { config } = ctx;
  // The head's broker password lives only in this process: the head is the only one to need it.
  const headSecret = randomBytes(32).toString("hex");
  let embedded: EmbeddedBroker | undefined;
  let url: string;

  if (config.brokerUrl) {
    url = config.brokerUrl;
  } else {
    embedded = await startEmbeddedBroker({
      port: config.brokerPort,
      topicPrefix: config.topicPrefix,
      authenticate: async (username, password): Promise<Principal | undefined> => {
        if (username === HEAD_USERNAME) {
          return sameSecret(password.toString(), headSecret)
            ? { kind: "head", clusterId: config.clusterId }
            : undefined;
        }
        if (!isDeviceIdHex(username) || !(await isCurrentMember(ctx, username))) return undefined;
        const member = ctx.members.getByDevice(username);
        if (!member || !sameSecret(password.toString(), brokerPassword(member.membership))) return undefined;
        return { kind: "device", deviceId: username, clusterId: config.clusterId };
      },
      mayPublishTo: (from, to, payload) =>
        mayPublishToInbox(
          {
            isMember: (id) => (ctx.members.getByDevice(id)?.expiresAt ?? 0) > ctx.now(),
            haveSession: (a, b) => ctx.sessions.haveSession(a, b, ctx.now()),
          },
          from,
          to,
          payload,
        ),
      isCurrent: (deviceId) => isCurrentMember(ctx, deviceId),
    });
    url = embedded.url;
  }

  const client = await MqttTransport.connect(url, {
    clientId: `${HEAD_USERNAME}-${config.clusterId}-${randomBytes(4).toString("hex")}`,
    ...(embedded ? { username: HEAD_USERNAME, password: headSecret } : {}),
    clean: true,
  });
  let up = true;
  client.on("offline", () => {
    up = false;
  });
  client.on("connect", () => {
    up = true;
  });
  client.on("error", (error) => ctx.logger.warn({ code: error.code }, "head MQTT client error"));

  return {
    url,
    embedded,
    client,
    status: () => ({ up, url, embedded: embedded !== undefined }),
    disconnect: async (deviceId) => (embedded ? embedded.disconnect(deviceId) : false),
    close: async () => {
      await client.close(true);
      await embedded?.close();
    },
  };
}
