/**
 * A head process SIGKILLed while its enrollments wait in the node's mempool (mining paused on a
 * chain that otherwise mines every 2 s), then started again on the same data: it takes its next
 * nonce from the node's pending count, shows the enrollments it sent as pending, refuses them
 * again instead of sending duplicates, and once blocks come every enrollment is on chain exactly
 * once and indexed, and the pending records are settled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRegistry } from "../../../../chain/registry-contract";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { makeTestDevice, type TestDevice } from "../../../../testkit/head";
import { headProcess, type HeadProcess } from "../../../../testkit/head-process";
import { waitUntil } from "../../../../testkit/wait";

const BLOCK_INTERVAL_MS = 2000;
const IN_FLIGHT = 5;

describe("a head killed with enrollments in flight", () => {
  let chain: TestChain;
  let head: HeadProcess;

  beforeAll(async () => {
    chain = await startTestChain({ blockIntervalMs: BLOCK_INTERVAL_MS });
    head = await headProcess(chain, { runner: "tsx", flags: ["--confirmations", "1"] });
  }, 120_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  const operator = (method: string, path: string, body?: unknown) =>
    fetch(`${head.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${head.adminToken}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const enroll = (device: TestDevice) =>
    operator("POST", "/v1/devices?wait=false", device.enrollBody(head.clusterId));
  const inMempool = async () =>
    (await chain.provider.getTransactionCount(head.headAddress, "pending")) -
    (await chain.provider.getTransactionCount(head.headAddress, "latest"));
  const setMining = (intervalMs: number) => chain.provider.send("evm_setIntervalMining", [intervalMs]);

  async function enrollmentsOnChain(devices: TestDevice[]): Promise<number[]> {
    const reader = connectRegistry(chain.deployment, chain.provider);
    const events = await reader.queryFilter(reader.filters.DeviceEnrolled!(), 0);
    return devices.map(
      (d) =>
        events.filter((e) => "args" in e && String(e.args[0]).toLowerCase() === `0x${d.deviceIdHex}`).length,
    );
  }

  it("loses, duplicates and blocks nothing across a SIGKILL and a restart", async () => {
    await setMining(0);
    const devices = Array.from({ length: IN_FLIGHT }, () => makeTestDevice());
    // The answers never come: the head dies before their block.
    const answers = devices.map((d) => enroll(d).catch(() => undefined));
    await waitUntil(async () => (await inMempool()) === IN_FLIGHT, "the enrollments to reach the mempool");
    await head.kill();
    await Promise.all(answers);

    await head.start();
    // The restarted head knows what it sent: shown as pending, and not sent twice.
    const shown = (await (await operator("GET", `/v1/devices/${devices[0]!.deviceIdHex}`)).json()) as {
      status: string;
    };
    expect(shown.status).toBe("pending");
    const again = await enroll(devices[0]!);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("E_ALREADY_ENROLLED");

    // Its next transaction takes the nonce after those in the mempool: it is mined with them.
    const next = makeTestDevice();
    const nextAnswer = enroll(next);
    await waitUntil(
      async () => (await inMempool()) === IN_FLIGHT + 1,
      "the next enrollment to reach the mempool",
    );
    await setMining(BLOCK_INTERVAL_MS);
    const nextDone = await nextAnswer;
    expect([201, 202]).toContain(nextDone.status);

    const all = [...devices, next];
    await waitUntil(
      async () => {
        for (const d of all) {
          const read = (await (await operator("GET", `/v1/devices/${d.deviceIdHex}`)).json()) as {
            status?: string;
            pending?: unknown;
          };
          if (read.status !== "active" || read.pending !== undefined) return false;
        }
        return true;
      },
      "every enrollment to be indexed and settled",
      30_000,
    );
    expect(await enrollmentsOnChain(all)).toEqual(all.map(() => 1));
    expect(await inMempool()).toBe(0);
    const metrics = await (await fetch(`${head.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^iotguard_pending_transactions\{[^}]*\} [1-9]/m);
  }, 120_000);
});
