/**
 * A member flooding another member with session set-ups (issue 19), on real parts: a hardhat node
 * with the registry, the cluster head as a child process (so it can be stopped with SIGSTOP, as an
 * overloaded or hung head), the machine's Mosquitto (no ACLs, so the test can publish set-ups in the
 * name of a member X) and two SDK devices, the victim V and its peer Y, in temp directories.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device, type MessageEvent } from "../../device/sdk";
import type { InboundDroppedEvent } from "../../device/sdk/events";
import { DEFAULT_INBOUND_LIMITS } from "../../device/sdk/inbound-queue";
import { AeadSuite } from "../../protocol/constants";
import { encodeSessionRequest } from "../../protocol/grant/codec";
import { MqttTransport } from "../../transport/mqtt/client";
import { encodeEnvelope } from "../../transport/mqtt/envelope";
import { inboxTopic } from "../../transport/mqtt/topics";
import { startTestChain, type TestChain } from "../../testkit/chain";
import {
  INSIDE,
  nextEvent,
  removeDir,
  requireMosquitto,
  tempDeviceDir,
  waitUntil,
} from "../../testkit/device";
import { type HeadProcess, headProcess } from "../../testkit/head-process";

const FLOOD = 40;
const text = (m: MessageEvent) => new TextDecoder().decode(m.data);

/** A well-formed SessionRequest with a random kid, nonce and MAC: only the head can tell it is junk. */
function randomSessionRequest(): Uint8Array {
  return encodeSessionRequest({
    suite: AeadSuite.AES_256_GCM,
    kid: randomBytes(4),
    nonce: randomBytes(16),
    timestamp: Math.floor(Date.now() / 1000) * 1000, // whole seconds on the wire
    mac: randomBytes(16),
  });
}

describe("inbound limits over Mosquitto with a real head", () => {
  let chain: TestChain;
  let head: HeadProcess;
  let v: Device;
  let y: Device;
  let spy: MqttTransport;
  const prefix = `iotguard-flood-${randomBytes(5).toString("hex")}`;

  /** A new device that reads its head from the test chain's registry, enrolled and joined. */
  async function joined(): Promise<Device> {
    const registry = { rpcUrl: chain.node.url, address: chain.deployment.address };
    const device = await Device.open(tempDeviceDir(), { registry, grantTimeoutMs: 5000 });
    await device.init();
    await device.enroll(head.url, head.adminToken, { topicPrefix: prefix });
    await device.join(head.url, { position: INSIDE, topicPrefix: prefix });
    return device;
  }

  beforeAll(async () => {
    await requireMosquitto();
    chain = await startTestChain();
    head = await headProcess(chain, ["--broker-url", "mqtt://127.0.0.1:1883", "--topic-prefix", prefix]);
    v = await joined();
    y = await joined();
    await v.connect();
    await y.connect();
    spy = await MqttTransport.connect("mqtt://127.0.0.1:1883", {
      clientId: `flood-${randomBytes(4).toString("hex")}`,
      clean: true,
    });
  }, 120_000);

  afterAll(async () => {
    head?.child?.kill("SIGCONT");
    await spy?.close();
    for (const d of [v, y]) {
      await d?.close();
      if (d) removeDir(d.dataDir);
    }
    await head?.destroy();
    await chain?.stop();
  });

  it("a set-up flood from X, while the head hangs, neither delays nor drops Y's frames, and costs at most the burst", async () => {
    const warm = nextEvent<MessageEvent>(v, "message", (m) => text(m) === "warm-up");
    await y.send(v.deviceId, "warm-up");
    await warm;

    const x = randomBytes(32);
    const xHex = x.toString("hex");
    const dropped: InboundDroppedEvent[] = [];
    const answeredForX: string[] = [];
    v.on("inbound-dropped", (e) => dropped.push(e));
    v.on("warning", (w) => {
      if (w.peerId === xHex) answeredForX.push(w.reason);
    });
    v.on("error", (e) => answeredForX.push(`error ${(e as { code?: string }).code}`));

    head.child!.kill("SIGSTOP");
    const topic = inboxTopic(prefix, (await v.status()).head!.clusterId, v.deviceId);
    for (let i = 0; i < FLOOD; i++) await spy.publish(topic, encodeEnvelope(x, randomSessionRequest()));
    const overLimit = FLOOD - DEFAULT_INBOUND_LIMITS.setupBurst;
    await waitUntil(() => dropped.length === overLimit, `${overLimit} dropped set-ups`);

    // X's first set-up now waits on the stopped head; Y's frame must not wait behind it.
    const during = nextEvent<MessageEvent>(v, "message", (m) => text(m) === "while the head hangs", 5000);
    await y.send(v.deviceId, "while the head hangs");
    expect((await during).from).toBe(y.deviceId);

    head.child!.kill("SIGCONT");
    await waitUntil(
      () => answeredForX.length === DEFAULT_INBOUND_LIMITS.setupBurst,
      "the head's answers for X's admitted set-ups",
      30_000,
    );
    await v.idle();
    console.info(`head answers for X: ${answeredForX.join(", ")}`);
    expect(answeredForX).toHaveLength(DEFAULT_INBOUND_LIMITS.setupBurst);
    expect(dropped.every((d) => d.from === xHex && d.reason === "setup-limit")).toBe(true);
    expect(v.stats.dropped).toBe(overLimit);

    const after = nextEvent<MessageEvent>(v, "message", (m) => text(m) === "after");
    await y.send(v.deviceId, "after");
    await after;
  }, 60_000);
});
