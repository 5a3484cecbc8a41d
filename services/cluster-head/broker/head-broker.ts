/**
 * The head's side of MQTT: the embedded aedes broker (default) with hooks that consult the head's
 * members, index and sessions, or an external broker (Mosquitto). With `--broker-admin-file` the
 * head administers that broker's dynamic-security plugin (dynsec/), so it enforces the same rules;
 * without, the head only publishes to it. Either way the head itself publishes through an ordinary
 * MQTT client.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { brokerPassword } from "../../../protocol";
import { isDeviceIdHex, MqttTransport, parseBrokerUrl } from "../../../transport/mqtt";
import type { HeadContext } from "../context";
import { isCurrentMember } from "../use-cases/membership-standing";
import { readAdminCredential } from "./dynsec/admin-credential";
import { DynsecControlClient } from "./dynsec/control-client";
import { headUsername } from "./dynsec/desired-state";
import { DynsecAccess, type ReconcileSummary } from "./dynsec/dynsec-access";
import { loadBrokerTls } from "./broker-tls";
import { HeadMqttClient } from "./head-mqtt-client";
import { type EmbeddedBroker, type Principal, startEmbeddedBroker } from "./embedded-broker";
import { embeddedGrantPublisher, mqttGrantDelivery } from "./grant-delivery";
import { mayPublishToInbox } from "./publish-policy";

/** Username of the head's own MQTT client. */
export const HEAD_USERNAME = "iotguard-head";

export interface HeadBroker {
  /** Where devices connect. */
  url: string;
  embedded: EmbeddedBroker | undefined;
  /** The head's own client, for warnings and control messages. */
  client: HeadMqttClient;
  /** The administration of an external Mosquitto, when `--broker-admin-file` is set. */
  dynsec: DynsecAccess | undefined;
  status(): HeadBrokerStatus;
  /** Closes a device's connection (embedded broker only; external brokers enforce nothing here). */
  disconnect(deviceId: string): Promise<boolean>;
  close(): Promise<void>;
}

/** What `/health` shows of the broker. */
export interface HeadBrokerStatus {
  up: boolean;
  url: string;
  embedded: boolean;
  /** Who enforces access: the embedded broker, the head through Mosquitto's dynsec, or nobody. */
  access: "embedded" | "dynsec" | "none";
  /** Dynsec only: whether the admin connection is up, and what the last reconciliation changed. */
  admin?: { connected: boolean; reconciled: ReconcileSummary | undefined };
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
  let dynsec: DynsecAccess | undefined;
  let control: DynsecControlClient | undefined;
  let client: HeadMqttClient | undefined;
  let url: string;
  // TLS material for an mqtts:// --broker-url (checked at start already: plaintext off loopback refused).
  const brokerTls = loadBrokerTls(config);

  if (config.brokerUrl) {
    url = config.brokerUrl;
    if (config.brokerAdminFile) {
      // Connect with the file's credential only, whatever userinfo the URL carries.
      control = await DynsecControlClient.connect(
        parseBrokerUrl(url).url,
        readAdminCredential(config.brokerAdminFile),
        {
          clientId: `iotguard-admin-${config.clusterId}-${randomBytes(4).toString("hex")}`,
          ...(brokerTls ? { tls: brokerTls } : {}),
        },
      );
      dynsec = new DynsecAccess(ctx, control, {
        headPassword: headSecret,
        headConnected: () => client?.connected ?? false,
      });
      try {
        await dynsec.reconcile();
      } catch (error) {
        dynsec.close();
        await control.close();
        throw error;
      }
    } else {
      ctx.logger.warn(
        { broker: "external" },
        "no --broker-admin-file: the head does not administer the external broker, which enforces nothing of the cluster's access rules",
      );
    }
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

  try {
    const brokerUrl = dynsec ? parseBrokerUrl(url).url : url;
    const clientId = `${HEAD_USERNAME}-${config.clusterId}-${randomBytes(4).toString("hex")}`;
    // Dynsec: a broker restarted with a dynsec file that lacks the head's client refuses it until
    // the reconciliation recreates it, so a refusal is retried there (head-mqtt-client.ts).
    client = await HeadMqttClient.connect(
      () =>
        MqttTransport.connect(brokerUrl, {
          clientId,
          ...(brokerTls ? { tls: brokerTls } : {}),
          ...(embedded ? { username: HEAD_USERNAME, password: headSecret } : {}),
          ...(dynsec ? { username: headUsername(config.clusterId), password: headSecret } : {}),
          clean: true,
        }),
      { retryOnRefusal: dynsec !== undefined },
    );
  } catch (error) {
    dynsec?.close();
    await control?.close();
    await embedded?.close();
    throw error;
  }
  // From here on joins and grants reach the broker before they are answered.
  if (dynsec) ctx.brokerAccess = dynsec;
  // ...and the head delivers initiator Grants itself on their ctl topic (grant-delivery.ts): into
  // its embedded broker directly, else through its client. An unadministered external broker
  // enforces none of its ACL, which the Grant's AEAD does not need.
  ctx.grantDelivery = mqttGrantDelivery(
    embedded ? embeddedGrantPublisher(embedded.broker) : client,
    config.topicPrefix,
    config.clusterId,
    undefined,
    (outcome) => ctx.metrics.grantDeliveries.inc({ outcome }),
  );
  let up = true;
  client.on("offline", () => {
    up = false;
  });
  client.on("connect", () => {
    up = true;
  });
  client.on("error", (error) => ctx.logger.warn({ code: error.code }, "head MQTT client error"));

  const headClient = client;
  return {
    url,
    embedded,
    client: headClient,
    dynsec,
    status: () => {
      const admin = dynsec?.status();
      return {
        // With dynsec, joins and grants fail while the admin connection is down: not healthy.
        up: up && (admin?.adminConnected ?? true),
        url,
        embedded: embedded !== undefined,
        access: embedded ? "embedded" : dynsec ? "dynsec" : "none",
        ...(admin ? { admin: { connected: admin.adminConnected, reconciled: admin.reconciled } } : {}),
      };
    },
    // Dynsec disconnects a device by deleting its client (DynsecAccess.membershipEnded).
    disconnect: async (deviceId) => (embedded ? embedded.disconnect(deviceId) : false),
    close: async () => {
      ctx.grantDelivery = undefined;
      dynsec?.close();
      await headClient.close(true);
      await control?.close();
      await embedded?.close();
    },
  };
}
