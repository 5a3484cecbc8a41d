/**
 * `--max-fee-gwei` and `--max-priority-fee-gwei` on a real chain: the head's registry
 * transactions carry the node's suggested EIP-1559 fees, never above the caps.
 */
import { parseUnits } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cappedFees } from "../../../../services/cluster-head/chain/fee-caps";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestHead } from "../../../../testkit/head";

describe("fee caps on the head's transactions", () => {
  let chain: TestChain;
  let head: TestHead;

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { maxFeeGwei: "1.2", maxPriorityFeeGwei: "0.25" });
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  it("sends enrollments and revocations with fees under the caps", async () => {
    const suggested = await chain.provider.getFeeData();
    // The caps bind: the node suggests more than either.
    expect(suggested.maxPriorityFeePerGas!).toBeGreaterThan(parseUnits("0.25", "gwei"));
    expect(suggested.maxFeePerGas!).toBeGreaterThan(parseUnits("1.2", "gwei"));

    const device = makeTestDevice();
    const enroll = await head.operator("POST", "/v1/devices", device.enrollBody(head.clusterId));
    expect(enroll.status).toBe(201);
    const revoke = await head.operator("POST", `/v1/devices/${device.deviceIdHex}/revoke`);
    expect(revoke.status).toBe(200);
    for (const answer of [enroll, revoke]) {
      const { transactionHash } = (await answer.json()) as { transactionHash: string };
      const tx = await chain.provider.getTransaction(transactionHash);
      expect(tx?.type).toBe(2);
      expect(tx?.maxFeePerGas).toBe(parseUnits("1.2", "gwei"));
      expect(tx?.maxPriorityFeePerGas).toBe(parseUnits("0.25", "gwei"));
    }
  }, 60_000);

  it("keeps the tip under the fee cap, and adds nothing without caps", async () => {
    expect(await cappedFees(chain.provider, {})).toEqual({});
    const fees = await cappedFees(chain.provider, { maxFeeGwei: 0.1 });
    expect(fees).toEqual({
      maxFeePerGas: parseUnits("0.1", "gwei"),
      maxPriorityFeePerGas: parseUnits("0.1", "gwei"),
    });
  });
});
