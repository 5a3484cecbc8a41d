/**
 * `GET /v1/devices`: the cluster's devices paged and searched on the server, against a real head
 * and chain (enrolled in one batch transaction).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../../testkit/head";

interface Page {
  devices: { deviceId: string; keyAddress: string; status: string; joinedAt: number | null }[];
  nextCursor?: string;
  partial: boolean;
}

describe("device listing", () => {
  let chain: TestChain;
  let head: TestHead;
  const enrolled: TestDevice[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain);
    for (let i = 0; i < 25; i++) enrolled.push(makeTestDevice());
    const res = await head.operator("POST", "/v1/devices/batch", {
      devices: enrolled.map((d) => d.enrollBody(head.clusterId)),
    });
    expect(res.status).toBe(201);
    expect((await head.operator("POST", `/v1/devices/${enrolled[0]!.deviceIdHex}/revoke`)).status).toBe(200);
  });

  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  const list = async (query: string) => {
    const res = await head.operator("GET", `/v1/devices${query}`);
    return { status: res.status, body: (await res.json()) as Page & { error?: { code: string } } };
  };

  it("pages through every device once, in device-ID order, and says when the last page is reached", async () => {
    const seen: string[] = [];
    let cursor = "";
    for (let pages = 0; pages < 10; pages++) {
      const { body } = await list(`?limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...body.devices.map((d) => d.deviceId));
      if (!body.nextCursor) break;
      cursor = body.nextCursor;
    }
    const ids = enrolled.map((d) => d.deviceIdHex).sort();
    expect(seen).toEqual(ids);
  });

  it("finds a device by part of its ID or key address, and filters by status", async () => {
    const target = enrolled[7]!;
    const byId = await list(`?query=${target.deviceIdHex.slice(10, 30).toUpperCase()}`);
    expect(byId.body.devices.map((d) => d.deviceId)).toEqual([target.deviceIdHex]);
    const address = target.enrollBody(head.clusterId).keyAddress;
    const byKey = await list(`?query=${address}`);
    expect(byKey.body.devices.map((d) => d.keyAddress)).toEqual([address]);
    const revoked = await list("?status=revoked");
    expect(revoked.body.devices.map((d) => d.deviceId)).toEqual([enrolled[0]!.deviceIdHex]);
    expect((await list("?status=active&limit=200")).body.devices).toHaveLength(24);
  });

  it("refuses a query that is not hex, a bad cursor or limit, and a missing token, with typed errors", async () => {
    for (const query of ["?query=%3Cscript%3E", "?cursor=abc", "?limit=0", "?limit=201", "?status=gone"]) {
      const { status, body } = await list(query);
      expect([status, body.error?.code], query).toEqual([400, "E_VALIDATION"]);
    }
    const anonymous = await fetch(`${head.url}/v1/devices`);
    expect(anonymous.status).toBe(401);
  });
});
