import { randomBytes } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex } from "../../../protocol/bytes";
import { createGrantRequest, createSessionRequest } from "../../../protocol/grant/member";
import { finishJoin, startJoin } from "../../../protocol/join/device";
import type { Membership } from "../../../protocol/membership";
import { loadConfig } from "../../../services/cluster-head/config";
import { startClusterHead } from "../../../services/cluster-head/head";
import { JournalOpenError } from "../../../platform/append-journal";
import { DatabaseOpenError } from "../../../services/cluster-head/stores/database";
import { startTestChain, type TestChain } from "../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice } from "../../../testkit/head";
import { headProcess } from "../../../testkit/head-process";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function joinAt(
  url: string,
  headAddress: string,
  device: TestDevice,
  clusterId = 1,
): Promise<Membership> {
  const challenge = new Uint8Array(
    await (await fetch(`${url}/v1/join/challenge`, { method: "POST" })).arrayBuffer(),
  );
  const { request, state } = startJoin({
    challengeMessage: challenge,
    clusterId,
    headAddress: fromHex(headAddress.slice(2)),
    deviceId: device.deviceId,
    deviceSecretKey: device.identity.secretKey,
    position: { lat: 0, lon: 0 },
  });
  const response = await fetch(`${url}/v1/join`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body: request,
  });
  expect(response.status).toBe(200);
  return finishJoin(new Uint8Array(await response.arrayBuffer()), state, Date.now());
}

function grantRequest(m1: Membership, m2: Membership, clusterId = 1): Uint8Array {
  const request = createSessionRequest({ membership: m1, clusterId, peerId: m2.deviceId, now: Date.now() });
  return createGrantRequest({
    membership: m2,
    clusterId,
    peerId: m1.deviceId,
    sessionRequest: request.message,
    now: Date.now(),
  }).message;
}

async function postSession(url: string, body: Uint8Array): Promise<string> {
  const response = await fetch(`${url}/v1/sessions`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    body,
  });
  if (response.status === 200) return response.headers.get("x-iotguard-outcome") ?? "?";
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe("cluster head faults", () => {
  let chain: TestChain;
  beforeAll(async () => {
    chain = await startTestChain();
  }, 60_000);
  afterAll(async () => {
    await chain?.stop();
  });

  /**
   * Grant traffic from four concurrent workers; the head is SIGKILLed part-way through, restarted,
   * and every request sent again. Returns the number of the grant journal's segment at the end
   * (1 plus the snapshots written since the head's data directory was made).
   */
  async function killMidTraffic(clusterId: number, flags: string[]): Promise<number> {
    const head = await headProcess(chain, ["--cluster-id", String(clusterId), ...flags]);
    const { url, adminToken: token } = head;
    try {
      const headAddress = ((await (await fetch(`${url}/health`)).json()) as { headAddress: string })
        .headAddress;
      const a = makeTestDevice();
      const b = makeTestDevice();
      const enroll = await fetch(`${url}/v1/devices/batch`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ devices: [a.enrollBody(clusterId), b.enrollBody(clusterId)] }),
      });
      expect(enroll.status).toBe(201);
      const ma = await joinAt(url, headAddress, a, clusterId);
      const mb = await joinAt(url, headAddress, b, clusterId);

      // Traffic from four concurrent members-in-waiting; the head dies part-way through.
      const requests = Array.from({ length: 120 }, () => grantRequest(ma, mb, clusterId));
      const grants = new Map<number, number>();
      const outcomes: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < requests.length) {
          const i = next++;
          const outcome = await postSession(url, requests[i]!).catch(() => "connection-lost");
          outcomes[i] = outcome;
          if (outcome === "grant") grants.set(i, (grants.get(i) ?? 0) + 1);
          if (i === 40) void head.kill();
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      expect(outcomes.filter((o) => o === "grant").length).toBeGreaterThan(20);
      expect(outcomes).toContain("connection-lost");

      await head.start();
      // The same memberships work without a new join.
      expect(await postSession(url, grantRequest(ma, mb, clusterId))).toBe("grant");
      // Every request again: an answered one is a replay; a lost one is granted at most once.
      for (const [i, request] of requests.entries()) {
        const outcome = await postSession(url, request);
        if (outcome === "grant") grants.set(i, (grants.get(i) ?? 0) + 1);
        else expect(["E_REPLAY", "E_EXPIRED"]).toContain(outcome);
      }
      expect([...grants.values()].every((count) => count === 1)).toBe(true);
      const members = (await (
        await fetch(`${url}/v1/members`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { members: unknown[] };
      expect(members.members).toHaveLength(2);
      const [segment] = readdirSync(join(head.dataDir, "grants"));
      return Number(segment!.split(".")[0]);
    } finally {
      await head.destroy();
    }
  }

  it("killed with SIGKILL mid-traffic and restarted: members survive, no grant is issued twice", async () => {
    await killMidTraffic(1, []);
  }, 120_000);

  it("killed with SIGKILL mid-traffic while its grant journal starts a new segment every few dozen grants: no grant is issued twice", async () => {
    // 4 KiB segments (and at least four times the last snapshot): the kill lands among snapshots.
    expect(await killMidTraffic(4, ["--journal-segment-kib", "4"])).toBeGreaterThan(1);
  }, 120_000);

  it("stops serving when the chain is reset under it, and says why", async () => {
    const head = await startTestHead(chain, { clusterId: "2" });
    try {
      expect((await fetch(`${head.url}/health`)).status).toBe(200);
      const port = chain.node.port;
      await chain.stop();
      chain = await startTestChain({ port });
      const health = await waitFor("degraded health", async () => {
        const response = await fetch(`${head.url}/health`);
        return response.status === 503
          ? ((await response.json()) as { chain: { state: string; haltReason: string } })
          : undefined;
      });
      expect(health.chain.state).toBe("halted");
      expect(health.chain.haltReason).toMatch(/reset/);
      const challenge = await fetch(`${head.url}/v1/join/challenge`, { method: "POST" });
      expect(challenge.status).toBe(503);
      expect(((await challenge.json()) as { error: { code: string } }).error.code).toBe("E_CHAIN_MISMATCH");
    } finally {
      await head.destroy();
    }
  }, 60_000);

  it("a failing grant journal gives E_STORAGE and no grant; a corrupt journal or database stops the head at start", async () => {
    const head = await startTestHead(chain, { clusterId: "3" });
    const a = makeTestDevice();
    const b = makeTestDevice();
    expect(
      (await head.operator("POST", "/v1/devices/batch", { devices: [a.enrollBody(3), b.enrollBody(3)] }))
        .status,
    ).toBe(201);
    const ma = await joinAt(head.url, head.headAddress, a, 3);
    const mb = await joinAt(head.url, head.headAddress, b, 3);
    // The grant journal fails (closed under the head): the grant is refused, nothing recorded.
    await head.context.sessions.close();
    expect(await postSession(head.url, grantRequest(ma, mb, 3))).toBe("E_STORAGE");
    expect(head.context.sessions.list()).toHaveLength(0);
    await head.stop();

    const journalDir = join(head.dataDir, "grants");
    for (const file of readdirSync(journalDir)) writeFileSync(join(journalDir, file), randomBytes(64));
    const failed = startClusterHead(loadConfig(head.flags, {}), { logger: pino({ level: "silent" }) });
    await expect(failed).rejects.toBeInstanceOf(JournalOpenError);
    await expect(failed).rejects.toMatchObject({ code: "E_STORAGE" });

    const dbDir = join(head.dataDir, "db");
    for (const file of readdirSync(dbDir))
      if (/^(CURRENT|MANIFEST)/.test(file)) writeFileSync(join(dbDir, file), randomBytes(64));
    await expect(
      startClusterHead(loadConfig(head.flags, {}), { logger: pino({ level: "silent" }) }),
    ).rejects.toBeInstanceOf(DatabaseOpenError);
    await head.destroy();
  }, 60_000);
});
