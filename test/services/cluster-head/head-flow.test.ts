/**
 * The cluster head end to end against a real hardhat node, real level and real HTTP and MQTT:
 * enroll via REST, join, session grant, warnings, revocation from the chain, restart with state.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerPassword } from "../../../protocol/broker-credential";
import { toHex } from "../../../protocol/bytes";
import { createChannel } from "../../../protocol/channel/session";
import { MessageSize } from "../../../protocol/constants";
import { acceptGrant, acceptGrantWarning, createSessionRequest } from "../../../protocol/grant/member";
import { finishJoin, startJoin } from "../../../protocol/join/device";
import type { Membership } from "../../../protocol/membership";
import { NoticeKind, openHeadNotice } from "../../../protocol/notice";
import { MqttTransport } from "../../../transport/mqtt/client";
import { ctlTopic, warnTopic } from "../../../transport/mqtt/topics";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestHead } from "../../../testkit/head";
import {
  buildSessionRequest,
  errorCode,
  INSIDE,
  join,
  joined,
  requestSession,
} from "../../helpers/member-client";

const CLUSTER = 1;
describe("cluster head against a real chain", () => {
  let chain: TestChain;
  let head: TestHead;
  const logLines: string[] = [];
  const a = makeTestDevice();
  const b = makeTestDevice();
  const c = makeTestDevice();
  let membershipA: Membership;
  let membershipB: Membership;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { clusterId: String(CLUSTER) }, logLines);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  describe("enrollment (operator REST, written to the chain)", () => {
    it("enrolls one device and a batch, answering with the transaction and block", async () => {
      const one = await head.operator("POST", "/v1/devices", a.enrollBody(CLUSTER));
      expect(one.status).toBe(201);
      const receipt = (await one.json()) as { transactionHash: string; blockNumber: number };
      expect(receipt.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
      const chainReceipt = await chain.provider.getTransactionReceipt(receipt.transactionHash);
      expect(chainReceipt?.blockNumber).toBe(receipt.blockNumber);

      const batch = await head.operator("POST", "/v1/devices/batch", {
        devices: [b.enrollBody(CLUSTER), c.enrollBody(CLUSTER)],
      });
      expect(batch.status).toBe(201);
      const record = (await (await fetch(`${head.url}/v1/devices/0x${b.deviceIdHex}`)).json()) as {
        status: string;
        keyAddress: string;
      };
      expect(record).toMatchObject({ status: "active", keyAddress: `0x${toHex(b.identity.address)}` });
    });

    it("refuses a missing or wrong token, a bad proof, a duplicate, and malformed bodies", async () => {
      const d = makeTestDevice();
      const noToken = await fetch(`${head.url}/v1/devices`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(d.enrollBody(CLUSTER)),
      });
      expect([noToken.status, await errorCode(noToken)]).toEqual([401, "E_UNAUTHORIZED"]);
      const wrongToken = await fetch(`${head.url}/v1/devices`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer wrong" },
        body: JSON.stringify(d.enrollBody(CLUSTER)),
      });
      expect([wrongToken.status, await errorCode(wrongToken)]).toEqual([401, "E_UNAUTHORIZED"]);

      const otherClusterProof = { ...d.enrollBody(CLUSTER + 1) };
      const badProof = await head.operator("POST", "/v1/devices", otherClusterProof);
      expect([badProof.status, await errorCode(badProof)]).toEqual([400, "E_BAD_PROOF"]);
      const stolenKey = { ...d.enrollBody(CLUSTER), keyAddress: `0x${toHex(a.identity.address)}` };
      expect(await errorCode(await head.operator("POST", "/v1/devices", stolenKey))).toBe("E_BAD_PROOF");

      const duplicate = await head.operator("POST", "/v1/devices", a.enrollBody(CLUSTER));
      expect([duplicate.status, await errorCode(duplicate)]).toEqual([409, "E_ALREADY_ENROLLED"]);

      const extraField = await head.operator("POST", "/v1/devices", {
        ...d.enrollBody(CLUSTER),
        admin: true,
      });
      expect([extraField.status, await errorCode(extraField)]).toEqual([400, "E_VALIDATION"]);
      const shortId = await head.operator("POST", "/v1/devices", {
        ...d.enrollBody(CLUSTER),
        deviceId: "abcd",
      });
      expect(await errorCode(shortId)).toBe("E_VALIDATION");
      const notJson = await fetch(`${head.url}/v1/devices`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${head.adminToken}` },
        body: "{nope",
      });
      expect([notJson.status, await errorCode(notJson)]).toEqual([400, "E_VALIDATION"]);
      const huge = await head.operator("POST", "/v1/devices", {
        ...d.enrollBody(CLUSTER),
        pad: "x".repeat(100_000),
      });
      expect([huge.status, await errorCode(huge)]).toEqual([413, "E_PAYLOAD_TOO_LARGE"]);
      // Nothing of the refused requests reached the chain.
      const unknown = await fetch(`${head.url}/v1/devices/${d.deviceIdHex}`);
      expect([unknown.status, await errorCode(unknown)]).toEqual([404, "E_NOT_FOUND"]);
    });
  });

  describe("join", () => {
    it("joins enrolled devices inside the radius, mutually authenticated", async () => {
      membershipA = await joined(head, a);
      membershipB = await joined(head, b);
      expect(membershipA.memberKey).toHaveLength(32);
      const members = (await (await head.operator("GET", "/v1/members")).json()) as {
        members: { deviceId: string }[];
      };
      expect(members.members.map((m) => m.deviceId).sort()).toEqual([a.deviceIdHex, b.deviceIdHex].sort());
    });

    it("refuses a replayed challenge, an unenrolled device, a position outside the radius, a forged signature", async () => {
      const first = await join(head, c);
      expect(first.response.status).toBe(200);
      const replay = await head.post("/v1/join", first.request);
      expect([replay.status, await errorCode(replay)]).toEqual([409, "E_REPLAY"]);

      const stranger = await join(head, makeTestDevice());
      expect([stranger.response.status, await errorCode(stranger.response)]).toEqual([403, "E_NOT_MEMBER"]);
      const far = await join(head, c, { lat: 45_000_000, lon: 0 });
      expect([far.response.status, await errorCode(far.response)]).toEqual([403, "E_OUTSIDE_RADIUS"]);
      const forged = await join(head, c, INSIDE, makeTestDevice().identity.secretKey);
      expect([forged.response.status, await errorCode(forged.response)]).toEqual([401, "E_BAD_SIGNATURE"]);

      const garbage = await head.post("/v1/join", new Uint8Array([1, 2, 3]));
      expect([garbage.status, await errorCode(garbage)]).toEqual([400, "E_MALFORMED"]);
      const wrongType = await fetch(`${head.url}/v1/join`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "hello",
      });
      expect([wrongType.status, await errorCode(wrongType)]).toEqual([415, "E_UNSUPPORTED_MEDIA_TYPE"]);
    });

    it("refuses a join response from a head key that is not the cluster's (the device checks)", async () => {
      const challenge = new Uint8Array(await (await head.post("/v1/join/challenge")).arrayBuffer());
      const { request, state } = startJoin({
        challengeMessage: challenge,
        clusterId: CLUSTER,
        headAddress: makeTestDevice().identity.address, // the device pinned another head
        deviceId: c.deviceId,
        deviceSecretKey: c.identity.secretKey,
        position: INSIDE,
      });
      const response = await head.post("/v1/join", request);
      // The head signs the transcript with the head address the device used, so it refuses first.
      expect(response.status).toBe(401);
      expect(() => finishJoin(new Uint8Array(64), state, Date.now())).toThrow();
    });
  });

  describe("session grant", () => {
    it("grants a one-time key to both members, who then talk both ways", async () => {
      const { response, pending1, pending2 } = await requestSession(head, membershipA, membershipB);
      expect(response.headers.get("x-iotguard-outcome")).toBe("grant");
      const body = new Uint8Array(await response.arrayBuffer());
      expect(body).toHaveLength(2 * MessageSize.GRANT);
      const forB = acceptGrant(body.subarray(0, MessageSize.GRANT), membershipB, pending2, Date.now());
      const forA = acceptGrant(body.subarray(MessageSize.GRANT), membershipA, pending1, Date.now());
      expect(toHex(forA.sessionId)).toBe(toHex(forB.sessionId));
      const channelA = createChannel(forA);
      const channelB = createChannel(forB);
      const toB = channelA.sender.seal(new TextEncoder().encode("hello B"), Date.now());
      expect(new TextDecoder().decode(channelB.receiver.open(toB, Date.now()).plaintext)).toBe("hello B");
      const toA = channelB.sender.seal(new TextEncoder().encode("hello A"), Date.now());
      expect(new TextDecoder().decode(channelA.receiver.open(toA, Date.now()).plaintext)).toBe("hello A");

      const sessions = (await (await head.operator("GET", "/v1/sessions")).json()) as {
        sessions: { sessionId: string; live: boolean }[];
      };
      expect(sessions.sessions.find((s) => s.sessionId === toHex(forA.sessionId))?.live).toBe(true);
    });

    it("delivers M1's Grant on M1's ctl topic itself when M2 asks, and answers M2 with its own Grant alone", async () => {
      const client = await MqttTransport.connect(head.brokerUrl, {
        clientId: a.deviceIdHex,
        username: a.deviceIdHex,
        password: brokerPassword(membershipA),
        clean: true,
      });
      const atA: Buffer[] = [];
      client.on("message", (_t, payload) => atA.push(payload));
      await client.subscribe([ctlTopic("iotguard", CLUSTER, a.deviceIdHex)]);
      try {
        const { forward, pending1, pending2 } = buildSessionRequest(head, membershipA, membershipB);
        const post = () =>
          fetch(`${head.url}/v1/sessions`, {
            method: "POST",
            headers: { "content-type": "application/octet-stream", "x-iotguard-grant-delivery": "direct" },
            body: forward.message,
          });
        const response = await post();
        expect(response.status, await response.clone().text()).toBe(200);
        expect(response.headers.get("x-iotguard-outcome")).toBe("delivered");
        const body = new Uint8Array(await response.arrayBuffer());
        expect(body).toHaveLength(MessageSize.GRANT);
        // Published and acknowledged before M2 was answered: already on its way to M1.
        await expect.poll(() => atA.length).toBe(1);
        const forA = acceptGrant(new Uint8Array(atA[0]!), membershipA, pending1, Date.now());
        const forB = acceptGrant(body, membershipB, pending2, Date.now());
        expect(toHex(forA.sessionId)).toBe(toHex(forB.sessionId));
        expect(toHex(forA.sessionKey)).toBe(toHex(forB.sessionKey));
        // The same request again is a replay, and nothing more is published for M1.
        const again = await post();
        expect([again.status, await errorCode(again)]).toEqual([409, "E_REPLAY"]);
        const sentinel = Buffer.from("sentinel");
        await head.broker.client.publish(ctlTopic("iotguard", CLUSTER, a.deviceIdHex), sentinel);
        await expect.poll(() => atA.length).toBe(2);
        expect(atA[1]!.equals(sentinel)).toBe(true);
      } finally {
        await client.close();
      }
    });

    it("never grants the same request twice", async () => {
      const { response, forward } = await requestSession(head, membershipA, membershipB);
      expect(response.status).toBe(200);
      const again = await head.post("/v1/sessions", forward.message);
      expect([again.status, await errorCode(again)]).toEqual([409, "E_REPLAY"]);
    });

    it("warns M2 about an unverified M1, over HTTP and on its MQTT warn topic", async () => {
      const client = await MqttTransport.connect(head.brokerUrl, {
        clientId: b.deviceIdHex,
        username: b.deviceIdHex,
        password: brokerPassword(membershipB),
        clean: true,
      });
      const warned = new Promise<Buffer>((resolve) =>
        client.on("message", (_t, payload) => resolve(payload)),
      );
      await client.subscribe([warnTopic("iotguard", CLUSTER, b.deviceIdHex)]);
      // An intruder with a made-up membership: unknown key id, key the head never issued.
      const intruder: Membership = {
        deviceId: makeTestDevice().deviceId,
        kid: new Uint8Array([9, 9, 9, 9]),
        memberKey: new Uint8Array(32).fill(7),
        expiresAt: Date.now() + 60_000,
      };
      const { response, pending2 } = await requestSession(head, intruder, membershipB);
      expect(response.headers.get("x-iotguard-outcome")).toBe("warning");
      const warning = new Uint8Array(await response.arrayBuffer());
      expect(acceptGrantWarning(warning, membershipB, pending2)).toBe("E_NOT_MEMBER");
      expect(Buffer.from(await warned).equals(Buffer.from(warning))).toBe(true);
      await client.close();
    });

    it("refuses reflection (a member asking for a session with itself)", async () => {
      expect(() =>
        createSessionRequest({
          membership: membershipA,
          clusterId: CLUSTER,
          peerId: membershipA.deviceId,
          now: Date.now(),
        }),
      ).toThrow(/E_REFLECTION/);
    });
  });

  describe("revocation and restart", () => {
    it("a revocation ends the membership at once: peers are told, the device can no longer join or get a key", async () => {
      const client = await MqttTransport.connect(head.brokerUrl, {
        clientId: b.deviceIdHex,
        username: b.deviceIdHex,
        password: brokerPassword(membershipB),
        clean: true,
      });
      const notice = new Promise<Buffer>((resolve) =>
        client.on("message", (_t, payload) => resolve(payload)),
      );
      await client.subscribe([ctlTopic("iotguard", CLUSTER, b.deviceIdHex)]);

      const revoked = await head.operator("POST", `/v1/devices/${a.deviceIdHex}/revoke`);
      expect(revoked.status).toBe(200);
      const told = openHeadNotice(CLUSTER, membershipB, new Uint8Array(await notice));
      expect([told.kind, toHex(told.subject)]).toEqual([NoticeKind.PEER_ENDED, a.deviceIdHex]);
      await client.close();

      const rejoin = await join(head, a);
      expect([rejoin.response.status, await errorCode(rejoin.response)]).toEqual([403, "E_REVOKED"]);
      const { response } = await requestSession(head, membershipA, membershipB);
      expect(response.headers.get("x-iotguard-outcome")).toBe("warning");
      const again = await head.operator("POST", `/v1/devices/${a.deviceIdHex}/revoke`);
      expect([again.status, await errorCode(again)]).toEqual([403, "E_REVOKED"]);
    });

    it("keeps members, grants and the index across a restart", async () => {
      const { forward } = await requestSession(head, membershipB, await joined(head, c));
      await head.stop();
      head = await startTestHead(chain, { ...head.flags, clusterId: String(CLUSTER) }, logLines);
      const members = (await (await head.operator("GET", "/v1/members")).json()) as {
        members: { deviceId: string }[];
      };
      expect(members.members.map((m) => m.deviceId)).toContain(b.deviceIdHex);
      const replay = await head.post("/v1/sessions", forward.message);
      expect(await errorCode(replay)).toBe("E_REPLAY");
      const fresh = await requestSession(head, membershipB, (await joined(head, c)) as Membership);
      expect(fresh.response.headers.get("x-iotguard-outcome")).toBe("grant");
    });
  });

  describe("operations", () => {
    it("reports health, metrics and an OpenAPI document", async () => {
      const health = (await (await fetch(`${head.url}/health`)).json()) as {
        status: string;
        chain: { state: string };
      };
      expect(health).toMatchObject({ status: "ok", chain: { state: "live" } });
      const metrics = await (await fetch(`${head.url}/metrics`)).text();
      expect(metrics).toMatch(/iotguard_grants_total \d+/);
      expect(metrics).toMatch(/iotguard_refusals_total\{code="E_REPLAY"\} \d+/);
      expect(metrics).toMatch(/iotguard_broker_events\{counter="connections"\} [1-9]\d*/);
      expect(metrics).toMatch(/iotguard_broker_events\{counter="refusedOversize"\} 0/);
      // Group commit: joins and the like ask level for batches that share writes, some fsynced;
      // every grant is a journal record, and records share fsynced writes.
      const counterOf = (metric: string, counter: string) =>
        Number(metrics.match(new RegExp(`^${metric}\\{counter="${counter}"\\} (\\d+)`, "m"))?.[1]);
      const store = (counter: string) => counterOf("iotguard_store_writes", counter);
      const journal = (counter: string) => counterOf("iotguard_grant_journal", counter);
      const grants = Number(metrics.match(/^iotguard_grants_total (\d+)/m)?.[1]);
      expect(grants).toBeGreaterThan(0);
      expect(store("batches")).toBeGreaterThanOrEqual(store("writes"));
      expect(store("writes")).toBeGreaterThanOrEqual(store("durable"));
      expect(store("durable")).toBeGreaterThan(0);
      expect(journal("records")).toBeGreaterThanOrEqual(grants);
      expect(journal("records")).toBeGreaterThanOrEqual(journal("writes"));
      expect(journal("writes")).toBeGreaterThan(0);
      expect(journal("snapshots")).toBeGreaterThanOrEqual(0);
      // Docs vs code: every iotguard metric the head exposes is named in docs/operations.md.
      const operationsDoc = readFileSync(path.join(__dirname, "../../../docs/operations.md"), "utf8");
      const exposed = [...metrics.matchAll(/^# HELP (iotguard_\w+)/gm)].map((m) => m[1]);
      expect(exposed.length).toBeGreaterThan(10);
      expect(exposed.filter((name) => !operationsDoc.includes(`\`${name}`))).toEqual([]);
      const openapi = (await (await fetch(`${head.url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(Object.keys(openapi.paths)).toContain("/v1/sessions");
      const missing = await fetch(`${head.url}/nope`);
      expect([missing.status, await errorCode(missing)]).toEqual([404, "E_NOT_FOUND"]);
    });

    it("never logs a key, token or secret", () => {
      const log = logLines.join("\n");
      expect(log.length).toBeGreaterThan(1000);
      const secrets = [
        head.adminToken,
        toHex(membershipA.memberKey),
        toHex(membershipB.memberKey),
        toHex(a.identity.secretKey),
        brokerPassword(membershipB),
        toHex(head.context.identity.secretKey),
      ];
      for (const secret of secrets) expect(log.includes(secret)).toBe(false);
    });
  });

  describe("two heads on one registry", () => {
    it("each head serves its own cluster and refuses the other's devices", async () => {
      const head2 = await startTestHead(chain, {
        clusterId: "2",
        latitude: "10000000",
        longitude: "10000000",
      });
      try {
        const d = makeTestDevice();
        expect((await head2.operator("POST", "/v1/devices", d.enrollBody(2))).status).toBe(201);
        await head.context.follower.syncOnce(); // the first head learns of it from the chain
        const crossJoin = await join(head, d);
        expect([crossJoin.response.status, await errorCode(crossJoin.response)]).toEqual([
          403,
          "E_WRONG_CLUSTER",
        ]);
        const crossRead = await fetch(`${head.url}/v1/devices/${d.deviceIdHex}`);
        expect(await errorCode(crossRead)).toBe("E_WRONG_CLUSTER");
        const crossRevoke = await head.operator("POST", `/v1/devices/${d.deviceIdHex}/revoke`);
        expect(await errorCode(crossRevoke)).toBe("E_WRONG_CLUSTER");
        expect(head2.headAddress).not.toBe(head.headAddress);
      } finally {
        await head2.destroy();
      }
    }, 60_000);
  });
});
