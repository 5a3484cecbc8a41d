/**
 * Key rotations and revocations on chain against a real head, chain, level and broker: made while
 * the head is down, racing joins in flight, and left half-applied by a crash between the index
 * write and the membership clean-up. In each case a stolen old key must stop working everywhere
 * (join answer, grant as initiator or responder, broker) before the head serves anything.
 */
import { join as joinPath } from "node:path";
import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerPassword } from "../../../protocol/broker-credential";
import { toHex } from "../../../protocol/bytes";
import { finishJoin } from "../../../protocol/join/device";
import type { Membership } from "../../../protocol/membership";
import { NoticeKind, openHeadNotice } from "../../../protocol/notice";
import { signEnrollmentProof } from "../../../protocol/enrollment";
import { generateIdentity } from "../../../protocol/identity";
import { connectRegistry } from "../../../chain/registry-contract";
import { HeadDatabase } from "../../../services/cluster-head/stores/database";
import { RegistryIndexStore } from "../../../services/cluster-head/stores/registry-index-store";
import { MqttTransport } from "../../../transport/mqtt/client";
import { ctlTopic } from "../../../transport/mqtt/topics";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { randomPrefix, requireMachineMosquitto } from "../../../testkit/brokers";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../testkit/head";
import { enrolled, errorCode, join, joined, requestSession } from "../../helpers/member-client";

const CLUSTER = 1;

/** Tries the broker with a membership's credential: true when the CONNECT is accepted. */
async function brokerAccepts(head: TestHead, membership: Membership): Promise<boolean> {
  try {
    const client = await MqttTransport.connect(head.brokerUrl, {
      clientId: toHex(membership.deviceId),
      username: toHex(membership.deviceId),
      password: brokerPassword(membership),
      clean: true,
      reconnectPeriodMs: 0,
      connectTimeoutMs: 5_000,
    });
    await client.close(true);
    return true;
  } catch {
    return false;
  }
}

/** An operator's request to rotate `device` to a fresh key, with that key's proof of possession. */
function rotateBody(device: TestDevice, keyVersion: number) {
  const next = generateIdentity();
  const proof = signEnrollmentProof(next.secretKey, {
    clusterId: CLUSTER,
    deviceId: device.deviceId,
    keyAddress: next.address,
    keyVersion,
  });
  return { keyAddress: `0x${toHex(next.address)}`, proof: `0x${toHex(proof)}` };
}

describe("key changes on chain", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { clusterId: String(CLUSTER) });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  /** The registry as this cluster's head (the only one allowed to revoke and rotate its devices). */
  function headRegistry() {
    return connectRegistry(
      chain.deployment,
      new Wallet(`0x${toHex(head.context.identity.secretKey)}`, chain.provider),
    );
  }

  it("a rotation and a revocation made while the head was down end the old memberships before it serves", async () => {
    const [a, b, c] = [await enrolled(head), await enrolled(head), await enrolled(head)];
    const [ma, mb, mc] = [await joined(head, a), await joined(head, b), await joined(head, c)];
    expect((await requestSession(head, ma, mb)).response.headers.get("x-iotguard-outcome")).toBe("grant");
    expect((await requestSession(head, mc, mb)).response.headers.get("x-iotguard-outcome")).toBe("grant");

    const registry = headRegistry();
    await head.stop();
    await (await registry.rotateKey(`0x${a.deviceIdHex}`, `0x${toHex(generateIdentity().address)}`)).wait();
    await (await registry.revoke(`0x${c.deviceIdHex}`)).wait();
    head = await startTestHead(chain, head.flags);

    const members = head.context.members;
    expect(members.getByDevice(a.deviceIdHex)).toBeUndefined();
    expect(members.getByDevice(c.deviceIdHex)).toBeUndefined();
    expect(members.getByDevice(b.deviceIdHex)).toBeDefined();
    expect(head.context.sessions.liveSessionsOf(b.deviceIdHex, Date.now())).toEqual([]);

    // A's old member key: refused by the broker, as initiator and as responder.
    expect(await brokerAccepts(head, ma)).toBe(false);
    expect(await brokerAccepts(head, mc)).toBe(false);
    expect(await brokerAccepts(head, mb)).toBe(true);
    const asInitiator = await requestSession(head, ma, mb);
    expect(asInitiator.response.headers.get("x-iotguard-outcome")).toBe("warning");
    const asResponder = await requestSession(head, mb, ma);
    expect([asResponder.response.status, await errorCode(asResponder.response)]).toEqual([
      403,
      "E_NOT_MEMBER",
    ]);
    // A may join again with its old key no more: the registry holds a new one.
    const rejoin = await join(head, a);
    expect([rejoin.response.status, await errorCode(rejoin.response)]).toEqual([401, "E_BAD_SIGNATURE"]);
  });

  it("tells the peers of a device re-keyed while the head was down, once MQTT is up (external Mosquitto)", async () => {
    await requireMachineMosquitto();
    const prefix = randomPrefix();
    let outer = await startTestHead(chain, {
      clusterId: "7",
      brokerUrl: "mqtt://127.0.0.1:1883",
      topicPrefix: prefix,
    });
    try {
      const [a, b] = [makeTestDevice(), makeTestDevice()];
      for (const d of [a, b])
        expect((await outer.operator("POST", "/v1/devices", d.enrollBody(7))).status).toBe(201);
      const [ma, mb] = [await joined(outer, a), await joined(outer, b)];
      expect((await requestSession(outer, ma, mb)).response.status).toBe(200);
      // B stays subscribed on the broker while the head is down and comes back.
      const listener = await MqttTransport.connect("mqtt://127.0.0.1:1883", {
        clientId: `b-${b.deviceIdHex}`,
        clean: true,
      });
      const notice = new Promise<Buffer>((resolve) =>
        listener.on("message", (_t, payload) => resolve(payload)),
      );
      await listener.subscribe([ctlTopic(prefix, 7, b.deviceIdHex)]);

      const registry = connectRegistry(
        chain.deployment,
        new Wallet(`0x${toHex(outer.context.identity.secretKey)}`, chain.provider),
      );
      await outer.stop();
      await (await registry.rotateKey(`0x${a.deviceIdHex}`, `0x${toHex(generateIdentity().address)}`)).wait();
      outer = await startTestHead(chain, outer.flags);

      const opened = openHeadNotice(7, mb, new Uint8Array(await notice));
      expect([opened.kind, toHex(opened.subject)]).toEqual([NoticeKind.PEER_ENDED, a.deviceIdHex]);
      const ended = outer.context.sessions.list().filter((s) => s.initiator === a.deviceIdHex);
      expect(ended.map((s) => s.endReason)).toEqual(["key-rotated"]);
      await listener.close();
    } finally {
      await outer.destroy();
    }
  });

  it("a rotation racing joins in flight never leaves a usable old-key membership (12 trials)", async () => {
    let oldKeyMemberships = 0;
    for (let trial = 0; trial < 12; trial++) {
      const a = await enrolled(head);
      await joined(head, a);
      // Joins with the old key, four at a time, for as long as the rotation takes to be applied.
      let rotating = true;
      const joiner = async () => {
        const attempts: Awaited<ReturnType<typeof join>>[] = [];
        while (rotating) attempts.push(await join(head, a));
        return attempts;
      };
      const workers = Array.from({ length: 4 }, joiner);
      // Through the operator API: the head's own key sends it (its nonces stay in step).
      const rotation = await head.operator("POST", `/v1/devices/${a.deviceIdHex}/rotate`, rotateBody(a, 1));
      expect(rotation.status).toBe(200);
      rotating = false;
      const joins = (await Promise.all(workers)).flat();
      // Joins that were still on their way are refused now; any membership left must count for nothing.
      const left = head.context.members.getByDevice(a.deviceIdHex);
      if (left) oldKeyMemberships++;
      for (const attempt of joins) {
        if (attempt.response.status !== 200) continue;
        const membership = finishJoin(
          new Uint8Array(await attempt.response.arrayBuffer()),
          attempt.state,
          Date.now(),
        );
        expect(await brokerAccepts(head, membership)).toBe(false);
      }
    }
    expect(oldKeyMemberships).toBe(0);
  }, 120_000);

  it("a crash between the index write and the membership clean-up is repaired at the next start", async () => {
    const [a, b] = [await enrolled(head), await enrolled(head)];
    const [ma, mb] = [await joined(head, a), await joined(head, b)];
    expect((await requestSession(head, ma, mb)).response.status).toBe(200);

    // Rotate on chain with the head down, then write the index batch the way the follower does,
    // and nothing else: the state a SIGKILL right after that batch leaves on disk.
    const registry = headRegistry();
    await head.stop();
    const receipt = await (
      await registry.rotateKey(`0x${a.deviceIdHex}`, `0x${toHex(generateIdentity().address)}`)
    ).wait();
    const database = await HeadDatabase.open(joinPath(head.dataDir, "db"));
    const index = await RegistryIndexStore.open(database);
    const current = (await index.getDevice(a.deviceIdHex))!;
    const block = (await chain.provider.getBlock(receipt!.blockNumber))!;
    await index.apply(
      [
        {
          kind: "device-key-rotated",
          deviceId: a.deviceIdHex,
          clusterId: CLUSTER,
          previousKey: current.keyAddress,
          newKey: `0x${"11".repeat(20)}`,
          keyVersion: current.keyVersion + 1,
          blockNumber: block.number,
          logIndex: 0,
        } as never,
      ],
      { blockNumber: block.number, blockHash: block.hash! },
    );
    await database.close();

    head = await startTestHead(chain, head.flags);
    expect(head.context.members.getByDevice(a.deviceIdHex)).toBeUndefined();
    expect(head.context.sessions.liveSessionsOf(b.deviceIdHex, Date.now())).toEqual([]);
    expect(await brokerAccepts(head, ma)).toBe(false);
    const asResponder = await requestSession(head, mb, ma);
    expect(await errorCode(asResponder.response)).toBe("E_NOT_MEMBER");
  });
});
