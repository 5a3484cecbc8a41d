/** Expired memberships: the broker credential stops working and the member gets no key. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { brokerPassword } from "../../../protocol/broker-credential";
import { fromHex } from "../../../protocol/bytes";
import { acceptGrantWarning, createGrantRequest, createSessionRequest } from "../../../protocol/grant/member";
import { finishJoin, startJoin } from "../../../protocol/join/device";
import type { Membership } from "../../../protocol/membership";
import { MqttTransport } from "../../../transport/mqtt/client";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../testkit/head";

const CLUSTER = 4;

describe("membership expiry (head clock moved forward)", () => {
  let chain: TestChain;
  let head: TestHead;
  let clock = Date.now();

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(
      chain,
      { clusterId: String(CLUSTER), membershipTtlS: "60" },
      undefined,
      () => clock,
    );
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  async function join(device: TestDevice): Promise<Membership> {
    const challenge = new Uint8Array(await (await head.post("/v1/join/challenge")).arrayBuffer());
    const { request, state } = startJoin({
      challengeMessage: challenge,
      clusterId: CLUSTER,
      headAddress: fromHex(head.headAddress.slice(2)),
      deviceId: device.deviceId,
      deviceSecretKey: device.identity.secretKey,
      position: { lat: 0, lon: 0 },
    });
    return finishJoin(
      new Uint8Array(await (await head.post("/v1/join", request)).arrayBuffer()),
      state,
      clock,
    );
  }

  it("refuses the broker credential and warns about the member once its membership expired", async () => {
    const a = makeTestDevice();
    const b = makeTestDevice();
    expect(
      (
        await head.operator("POST", "/v1/devices/batch", {
          devices: [a.enrollBody(CLUSTER), b.enrollBody(CLUSTER)],
        })
      ).status,
    ).toBe(201);
    const ma = await join(a);
    const connect = () =>
      MqttTransport.connect(head.brokerUrl, {
        clientId: a.deviceIdHex,
        username: a.deviceIdHex,
        password: brokerPassword(ma),
        clean: true,
        reconnectPeriodMs: 0,
      });
    await (await connect()).close();

    clock += 61_000; // a's membership is over; b joins now and is current
    const mb = await join(b);
    await expect(connect()).rejects.toMatchObject({ code: "E_BROKER_REFUSED" });
    const request = createSessionRequest({
      membership: ma,
      clusterId: CLUSTER,
      peerId: mb.deviceId,
      now: clock,
    });
    const forward = createGrantRequest({
      membership: mb,
      clusterId: CLUSTER,
      peerId: ma.deviceId,
      sessionRequest: request.message,
      now: clock,
    });
    const response = await head.post("/v1/sessions", forward.message);
    expect(response.headers.get("x-iotguard-outcome")).toBe("warning");
    expect(acceptGrantWarning(new Uint8Array(await response.arrayBuffer()), mb, [forward.pending])).toBe(
      "E_EXPIRED",
    );
  }, 30_000);
});
