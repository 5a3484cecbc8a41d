/**
 * `npm run gas`: gas for one enrollment and per device in batches of 10 and 100, revocation,
 * rotation and the two-step admin transfer, on Hardhat's in-process network. Gas is deterministic, so these are figures, not samples.
 */
import hre from "hardhat";

async function main(): Promise<void> {
  const { ethers } = hre;
  const [, head] = await ethers.getSigners();
  if (!head) throw new Error("need two accounts");
  const registry = await (await ethers.getContractFactory("DeviceRegistry")).deploy();
  await (await registry.createCluster(1, head.address, 0, 0, 1_000_000)).wait();
  const asHead = registry.connect(head);
  const rows: [string, bigint, bigint][] = [];

  const single = await (await asHead.enroll(1, ethers.id("single"), head.address)).wait();
  rows.push(["enroll (1 device)", single!.gasUsed, single!.gasUsed]);
  for (const size of [10, 100]) {
    const ids = Array.from({ length: size }, (_, i) => ethers.id(`batch-${size}-${i}`));
    const keys = ids.map(() => ethers.Wallet.createRandom().address);
    const receipt = await (await asHead.enrollBatch(1, ids, keys)).wait();
    rows.push([`enrollBatch (${size} devices)`, receipt!.gasUsed, receipt!.gasUsed / BigInt(size)]);
  }
  const revoke = await (await asHead.revoke(ethers.id("single"))).wait();
  rows.push(["revoke", revoke!.gasUsed, revoke!.gasUsed]);
  const rotate = await (
    await asHead.rotateKey(ethers.id("batch-10-0"), ethers.Wallet.createRandom().address)
  ).wait();
  rows.push(["rotateKey", rotate!.gasUsed, rotate!.gasUsed]);
  // Two-step admin transfer: offer (and a cancel), offer again, accept.
  const [admin, , next] = await ethers.getSigners();
  if (!admin || !next) throw new Error("need three accounts");
  const offer = await (await registry.transferAdmin(next.address)).wait();
  rows.push(["transferAdmin (offer)", offer!.gasUsed, 0n]);
  const cancel = await (await registry.cancelAdminTransfer()).wait();
  rows.push(["cancelAdminTransfer", cancel!.gasUsed, 0n]);
  await (await registry.transferAdmin(next.address)).wait();
  const accept = await (await registry.connect(next).acceptAdmin()).wait();
  rows.push(["acceptAdmin", accept!.gasUsed, 0n]);

  console.log("| operation | gas (tx) | gas per device |\n|---|---:|---:|");
  for (const [name, total, perDevice] of rows) console.log(`| ${name} | ${total} | ${perDevice || "—"} |`);
  console.log("\ngoals: enroll ≤ 55,000; per device in a batch of 100 ≤ 30,000");
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
