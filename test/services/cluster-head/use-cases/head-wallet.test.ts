/**
 * The head's wallet against a real chain: the measured cost of an enrollment and the balance in
 * /health and /metrics, and the low-balance warning once the balance pays for fewer than 100 more.
 */
import { parseEther, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../../../protocol/bytes";
import { LOW_BALANCE_ENROLLMENTS } from "../../../../services/cluster-head/use-cases/head-wallet";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { startTestHead, type TestHead } from "../../../../testkit/head";
import { enrolled } from "../../../helpers/member-client";

interface Health {
  status: string;
  wallet: {
    address: string;
    balance: string;
    costPerEnrollment?: string;
    enrollmentsLeft?: number;
    lowBalance: boolean;
  };
}

describe("the head's wallet", () => {
  let chain: TestChain;
  let head: TestHead;
  const logLines: string[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, {}, logLines);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  const health = async () => (await (await fetch(`${head.url}/health`)).json()) as Health;
  const metric = async (name: string) => {
    const text = await (await fetch(`${head.url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  };

  it("shows the balance and the measured cost per enrollment, then warns when the balance runs low", async () => {
    await enrolled(head);
    const before = await health();
    expect(before.wallet).toMatchObject({ address: head.headAddress, lowBalance: false });
    const cost = Number(before.wallet.costPerEnrollment);
    // ~53k gas at Hardhat's base fee: more than nothing, far less than the 100 ETH funding.
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThan(0.01);
    expect(before.wallet.enrollmentsLeft).toBeGreaterThan(LOW_BALANCE_ENROLLMENTS);
    expect(await metric("iotguard_head_balance_eth")).toBeCloseTo(Number(before.wallet.balance), 6);
    expect(await metric("iotguard_enrollment_cost_eth")).toBeCloseTo(cost, 12);
    expect(await metric("iotguard_head_low_balance")).toBe(0);
    expect(await metric("iotguard_head_fees_eth_total")).toBeGreaterThanOrEqual(cost);

    // Leave the head about 10 enrollments' worth (its key sends the rest away).
    const key = new Wallet(`0x${toHex(head.context.identity.secretKey)}`, chain.provider);
    const balance = await chain.provider.getBalance(key.address);
    const keep = parseEther(before.wallet.costPerEnrollment!) * 10n + parseEther("0.001");
    await (await key.sendTransaction({ to: await chain.admin.getAddress(), value: balance - keep })).wait();

    const after = await health();
    expect(after.status).toBe("ok"); // informative: the head still serves
    expect(after.wallet.lowBalance).toBe(true);
    expect(after.wallet.enrollmentsLeft).toBeLessThan(LOW_BALANCE_ENROLLMENTS);
    expect(await metric("iotguard_head_low_balance")).toBe(1);
    expect(logLines.filter((l) => l.includes("the head's balance is low"))).toHaveLength(1);
  }, 60_000);
});
