/**
 * `--replace-after` on a real chain: an enrollment whose fees the base fee overtook is sent again
 * with the same nonce and data and fees raised by at least 12.5% (never above the caps); the
 * replacement is mined, the enrollment lands once, the nonce is not left behind, and the
 * replacement is logged and counted.
 */
import { type NonceManager, parseUnits } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raisedByEighth, replacementFees } from "../../../../services/cluster-head/chain/fee-caps";
import { startTestChain, type TestChain } from "../../../../testkit/chain";
import { makeTestDevice, startTestHead, type TestDevice, type TestHead } from "../../../../testkit/head";

const STUCK_BASE_FEE = parseUnits("50", "gwei");

describe("replacement of a stuck registry transaction", () => {
  let chain: TestChain;
  let head: TestHead;
  const logLines: string[] = [];

  beforeAll(async () => {
    chain = await startTestChain();
    head = await startTestHead(chain, { replaceAfterS: "1", maxFeeGwei: "500" }, logLines);
  }, 60_000);
  afterAll(async () => {
    await head?.destroy();
    await chain?.stop();
  });

  /** How many DeviceEnrolled events the chain holds for `device`. */
  async function enrolledOnChain(device: TestDevice): Promise<number> {
    const registry = head.context.registry;
    const events = await registry.queryFilter(registry.filters.DeviceEnrolled!(), 0);
    return events.filter((e) => "args" in e && String(e.args[0]).toLowerCase() === `0x${device.deviceIdHex}`)
      .length;
  }

  it("re-sends a stuck enrollment with the same nonce and raised fees, and it lands once", async () => {
    const provider = chain.provider;
    const headAddress = await (head.context.registry.runner as NonceManager).getAddress();
    const nonce = await provider.getTransactionCount(headAddress, "latest");
    await provider.send("evm_setAutomine", [false]);
    // The head prices its transaction on the latest block; the next one charges far more.
    await provider.send("hardhat_setNextBlockBaseFeePerGas", [`0x${STUCK_BASE_FEE.toString(16)}`]);

    const device = makeTestDevice();
    const answer = head.operator("POST", "/v1/devices", device.enrollBody(head.clusterId));
    let firstHash: string | undefined;
    // Recorded as pending once the node holds it (a node leaves an unminable one out of its "pending" block).
    for (let i = 0; i < 200 && !firstHash; i++) {
      firstHash = head.context.pending.list()[0]?.txHash;
      if (!firstHash) await new Promise((r) => setTimeout(r, 50));
    }
    expect(firstHash, "the head never sent its enrollment").toBeDefined();
    const first = (await provider.getTransaction(firstHash!))!;
    expect(first.nonce).toBe(nonce);
    expect(first.maxFeePerGas!).toBeLessThan(STUCK_BASE_FEE);

    // A block at the high base fee leaves the enrollment out; more blocks until the head answers.
    await chain.mine();
    expect(await provider.getTransactionReceipt(firstHash!)).toBeNull();
    let settled = false;
    void answer.finally(() => (settled = true));
    for (let i = 0; i < 100 && !settled; i++) {
      await new Promise((r) => setTimeout(r, 200));
      await chain.mine();
    }
    const response = await answer;
    expect(response.status, await response.clone().text()).toBe(201);
    const { transactionHash } = (await response.json()) as { transactionHash: string };
    expect(transactionHash).not.toBe(firstHash);
    const replacement = (await provider.getTransaction(transactionHash))!;
    expect(replacement.nonce).toBe(nonce);
    expect(replacement.data).toBe(first.data);
    expect(replacement.to).toBe(first.to);
    expect(replacement.maxFeePerGas!).toBeGreaterThanOrEqual(raisedByEighth(first.maxFeePerGas!));
    expect(replacement.maxPriorityFeePerGas!).toBeGreaterThanOrEqual(
      raisedByEighth(first.maxPriorityFeePerGas!),
    );
    expect(replacement.maxFeePerGas!).toBeLessThanOrEqual(parseUnits("500", "gwei"));
    // The first send is gone from the node: only one of the two can ever be mined.
    expect(await provider.getTransaction(firstHash!)).toBeNull();
    expect(await enrolledOnChain(device)).toBe(1);
    // Indexed: its pending record, moved to the replacement's hash, is gone.
    expect(head.context.pending.list()).toEqual([]);

    const metrics = await (await fetch(`${head.url}/metrics`)).text();
    const replaced = /^iotguard_registry_tx_replacements_total (\d+)$/m.exec(metrics);
    expect(Number(replaced?.[1])).toBeGreaterThanOrEqual(1);
    expect(logLines.some((l) => l.includes("sent again with the same nonce") && l.includes(firstHash!))).toBe(
      true,
    );

    // The nonce is not stuck: the next enrollment goes through on a chain that mines by itself.
    await provider.send("evm_setIntervalMining", [300]);
    const next = makeTestDevice();
    const nextAnswer = await head.operator("POST", "/v1/devices", next.enrollBody(head.clusterId));
    expect(nextAnswer.status, await nextAnswer.clone().text()).toBe(201);
    expect(await enrolledOnChain(next)).toBe(1);
    expect(await provider.getTransactionCount(headAddress, "latest")).toBe(nonce + 2);
  }, 60_000);

  it("offers no replacement when a cap leaves no room for the raise", async () => {
    const sent = { maxFeePerGas: parseUnits("1", "gwei"), maxPriorityFeePerGas: parseUnits("0.5", "gwei") };
    expect(await replacementFees(chain.provider, { maxFeeGwei: 1.1 }, sent)).toBeUndefined();
    expect(await replacementFees(chain.provider, { maxPriorityFeeGwei: 0.55 }, sent)).toBeUndefined();
    const raised = await replacementFees(chain.provider, { maxFeeGwei: 1.2, maxPriorityFeeGwei: 0.6 }, sent);
    // The node's suggestion if higher, but within [+12.5%, cap].
    expect(raised!.maxFeePerGas).toBeGreaterThanOrEqual(parseUnits("1.125", "gwei"));
    expect(raised!.maxFeePerGas).toBeLessThanOrEqual(parseUnits("1.2", "gwei"));
    expect(raised!.maxPriorityFeePerGas).toBeGreaterThanOrEqual(parseUnits("0.5625", "gwei"));
    expect(raised!.maxPriorityFeePerGas).toBeLessThanOrEqual(parseUnits("0.6", "gwei"));
  });
});
