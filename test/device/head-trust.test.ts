/**
 * The device trusts its head only through the chain (or the operator's head address), never
 * through `/health` (issue 19). Real hardhat node and registry, real cluster heads in-process with
 * their embedded brokers, level in temp directories, and a rogue head: a real HTTP server that
 * speaks the join protocol with its own key for a cluster it does not head on chain.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Interface, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Device, type RegistryAnchor } from "../../device/sdk";
import { REGISTRY_VIEWS_ABI } from "../../device/sdk/registry-reader";
import { toHex } from "../../protocol/bytes";
import { generateIdentity } from "../../protocol/identity";
import { loadRegistryArtifact } from "../../chain/registry-artifact";
import { writeDeployment } from "../../chain/deployment-file";
import { HARDHAT_DEV_ACCOUNT_0_KEY } from "../../chain/local-development";
import { connectRegistry } from "../../chain/registry-contract";
import { startTestChain, type TestChain } from "../../testkit/chain";
import { runCli } from "../../testkit/cli";
import { headRegistry, INSIDE, removeDir, tempDeviceDir } from "../../testkit/device";
import { startTestHead, type TestHead } from "../../testkit/head";
import { type RogueHead, startRogueHead } from "./fixtures/rogue-head";

let chain: TestChain;
let head: TestHead;
let rogue: RogueHead;
let registry: RegistryAnchor;
const devices: Device[] = [];
const dirs: string[] = [];
const heads: TestHead[] = [];

beforeAll(async () => {
  chain = await startTestChain();
  head = await startTestHead(chain, { clusterId: "1", logLevel: "silent" });
  heads.push(head);
  registry = headRegistry(head);
  rogue = await startRogueHead(
    connectRegistry(chain.deployment, chain.provider),
    head.clusterId,
    head.brokerUrl,
  );
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close();
  await rogue?.close();
  for (const h of heads) await h.destroy();
  await chain?.stop();
  for (const d of dirs) removeDir(d);
});

/** A new device enrolled on chain by the operator (REST), so it has pinned nothing yet. */
async function enrolledDevice(
  through: TestHead,
  options: { registry?: RegistryAnchor; dataDir?: string } = {},
): Promise<Device> {
  const dir = options.dataDir ?? tempDeviceDir();
  dirs.push(dir);
  const device = await Device.open(dir, options.registry ? { registry: options.registry } : {});
  devices.push(device);
  await device.init();
  const res = await through.operator(
    "POST",
    "/v1/devices",
    await device.enrollmentRequest(through.clusterId),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  return device;
}

async function closeDevice(device: Device): Promise<void> {
  await device.close();
  devices.splice(devices.indexOf(device), 1);
}

describe("a rogue head", () => {
  it("cannot get a freshly enrolled device to join it; the device joins the head the chain names", async () => {
    const device = await enrolledDevice(head, { registry });
    const joinsBefore = rogue.seen["/v1/join"] ?? 0;

    await expect(device.join(rogue.url, { position: INSIDE })).rejects.toMatchObject({
      code: "E_HEAD_MISMATCH",
      message: expect.stringContaining(head.headAddress.toLowerCase()),
    });
    // Refused on the chain's word before a JoinRequest left the device.
    expect(rogue.seen["/v1/join"] ?? 0).toBe(joinsBefore);
    expect(rogue.memberships.filter((m) => toHex(m.deviceId) === device.deviceId)).toHaveLength(0);
    expect((await device.status()).membership).toBeUndefined();

    const joined = await device.join(head.url, { position: INSIDE });
    expect(joined).toMatchObject({
      clusterId: head.clusterId,
      headAddress: head.headAddress.toLowerCase(),
      headSource: "chain",
    });
    await device.connect();
    const status = await device.status();
    expect(status.connected).toBe(true);
    expect(status.head).toMatchObject({
      headAddress: head.headAddress.toLowerCase(),
      source: "chain",
      headUrl: head.url,
    });
  });

  it("that claims the genuine head's address gets a JoinRequest but no membership: its response fails the signature", async () => {
    const device = await enrolledDevice(head, { registry });
    rogue.claims = head.headAddress;
    try {
      await expect(device.join(rogue.url, { position: INSIDE })).rejects.toMatchObject({
        code: "E_HEAD_REFUSED",
        headCode: "E_BAD_SIGNATURE",
      });
    } finally {
      rogue.claims = rogue.address;
    }
    // The rogue derived a K_m for its own response, but the device never accepted it.
    expect(rogue.memberships.some((m) => toHex(m.deviceId) === device.deviceId)).toBe(true);
    expect((await device.status()).membership).toBeUndefined();
    await expect(device.join(head.url, { position: INSIDE })).resolves.toMatchObject({ headSource: "chain" });
  });

  it("is refused by `iotguard device join` reading the registry from the deployment file", async () => {
    const dir = tempDeviceDir();
    dirs.push(dir);
    const deploymentFile = join(
      dir,
      "..",
      `${toHex(crypto.getRandomValues(new Uint8Array(4)))}-deployment.json`,
    );
    writeDeployment(deploymentFile, chain.deployment);
    const device = await Device.open(dir);
    await device.init();
    const res = await head.operator("POST", "/v1/devices", await device.enrollmentRequest(head.clusterId));
    expect(res.status).toBe(201);
    await device.close();
    const chainFlags = ["--rpc-url", chain.node.url, "--deployment", deploymentFile, "--data-dir", dir];

    const refused = await runCli(["device", "join", "--head", rogue.url, ...chainFlags]);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining("E_HEAD_MISMATCH")]);
    const joined = await runCli(["device", "join", "--head", head.url, "--json", ...chainFlags]);
    expect(joined.code, joined.stderr).toBe(0);
    expect(JSON.parse(joined.stdout)).toMatchObject({
      event: "joined",
      headSource: "chain",
      headAddress: head.headAddress.toLowerCase(),
    });
    removeDir(deploymentFile);
  });
});

describe("without a trust anchor", () => {
  it("join refuses before contacting any head, with a typed error that says how to give one", async () => {
    const device = await enrolledDevice(head);
    const healthBefore = rogue.seen["/health"] ?? 0;
    const refusal = device.join(rogue.url, { position: INSIDE });
    await expect(refusal).rejects.toMatchObject({ code: "E_NO_TRUST_ANCHOR" });
    await expect(refusal).rejects.toThrow(/registry: \{ rpcUrl, address \}.*--rpc-url.*--head-address/);
    await expect(device.join(head.url, { position: INSIDE })).rejects.toMatchObject({
      code: "E_NO_TRUST_ANCHOR",
    });
    expect(rogue.seen["/health"] ?? 0).toBe(healthBefore);
    expect((await device.status()).head).toBeUndefined();
  });

  it("the operator's head address is an anchor: that head is joined, another refused", async () => {
    const device = await enrolledDevice(head);
    await expect(
      device.join(rogue.url, { position: INSIDE, headAddress: head.headAddress }),
    ).rejects.toMatchObject({
      code: "E_HEAD_MISMATCH",
    });
    expect(rogue.memberships.some((m) => toHex(m.deviceId) === device.deviceId)).toBe(false);
    await expect(
      device.join(head.url, { position: INSIDE, headAddress: head.headAddress }),
    ).resolves.toMatchObject({
      headSource: "configured",
      headAddress: head.headAddress.toLowerCase(),
    });
    // The verified pin is an anchor for the next join.
    await expect(device.join(undefined, { position: INSIDE })).resolves.toMatchObject({
      headSource: "configured",
    });
  });

  it("a head address that contradicts the chain is refused", async () => {
    const device = await enrolledDevice(head, { registry });
    await expect(
      device.join(head.url, { position: INSIDE, headAddress: rogue.address }),
    ).rejects.toMatchObject({
      code: "E_HEAD_MISMATCH",
    });
  });
});

describe("a head replaced on chain", () => {
  it("is followed by a device that reads the registry; a device without it stays pinned and refuses the new head", async () => {
    const clusterId = "7";
    const oldHead = await startTestHead(chain, { clusterId, logLevel: "silent" });
    heads.push(oldHead);
    const follower = await enrolledDevice(oldHead, { registry });
    await follower.join(oldHead.url, { position: INSIDE });
    const pinnedDir = tempDeviceDir();
    const pinnedOnly = await enrolledDevice(oldHead, { registry, dataDir: pinnedDir });
    await pinnedOnly.join(oldHead.url, { position: INSIDE });
    await closeDevice(pinnedOnly);
    const reopened = await Device.open(pinnedDir); // no registry from here on: the pin is its anchor
    devices.push(reopened);

    // The admin appoints a new head key for the cluster; the new head starts with that key.
    const newKey = generateIdentity();
    const newAddress = `0x${toHex(newKey.address)}`;
    const newDir = tempDeviceDir();
    writeFileSync(join(newDir, "head.key"), toHex(newKey.secretKey), { mode: 0o600 });
    // A fresh signer: the heads' own NonceManagers spent the admin's nonces in the meantime.
    const admin = connectRegistry(chain.deployment, new Wallet(HARDHAT_DEV_ACCOUNT_0_KEY, chain.provider));
    await (await admin.setClusterHead(Number(clusterId), newAddress)).wait();
    const newHead = await startTestHead(chain, { clusterId, dataDir: newDir, logLevel: "silent" });
    heads.push(newHead);
    expect(newHead.headAddress.toLowerCase()).toBe(newAddress);

    await expect(follower.join(oldHead.url, { position: INSIDE })).rejects.toMatchObject({
      code: "E_HEAD_MISMATCH",
    });
    await expect(follower.join(newHead.url, { position: INSIDE })).resolves.toMatchObject({
      headAddress: newAddress,
      headSource: "chain",
    });
    expect((await follower.status()).head).toMatchObject({ headAddress: newAddress, headUrl: newHead.url });

    const stale = reopened.join(newHead.url, { position: INSIDE });
    await expect(stale).rejects.toMatchObject({ code: "E_HEAD_MISMATCH" });
    await expect(stale).rejects.toThrow(/replaced on chain, give the registry/);
  });
});

describe("the registry views the device reads", () => {
  it("match the compiled DeviceRegistry (selector and every named output)", () => {
    const compiled = new Interface(loadRegistryArtifact().abi as never);
    const ours = new Interface(REGISTRY_VIEWS_ABI);
    for (const name of ["getDevice", "getCluster"]) {
      const a = ours.getFunction(name)!;
      const b = compiled.getFunction(name)!;
      expect(a.selector).toBe(b.selector);
      expect(a.outputs.map((o) => o.format("full"))).toEqual(b.outputs.map((o) => o.format("full")));
    }
  });

  it("an unreachable chain or an address without the registry is E_CHAIN_UNREACHABLE, an unenrolled device E_NO_HEAD", async () => {
    const device = await Device.open(tempDeviceDir(), {
      registry: { rpcUrl: "http://127.0.0.1:1", address: registry.address },
    });
    devices.push(device);
    dirs.push(device.dataDir);
    await device.init();
    await expect(device.join(head.url, { position: INSIDE })).rejects.toMatchObject({
      code: "E_CHAIN_UNREACHABLE",
    });

    const wrongAddress = await Device.open(tempDeviceDir(), {
      registry: { rpcUrl: registry.rpcUrl, address: head.headAddress },
    });
    devices.push(wrongAddress);
    dirs.push(wrongAddress.dataDir);
    await wrongAddress.init();
    await expect(wrongAddress.join(head.url, { position: INSIDE })).rejects.toMatchObject({
      code: "E_CHAIN_UNREACHABLE",
    });

    const wrongChain = await Device.open(tempDeviceDir(), { registry: { ...registry, chainId: 1 } });
    devices.push(wrongChain);
    dirs.push(wrongChain.dataDir);
    await wrongChain.init();
    await expect(wrongChain.join(head.url, { position: INSIDE })).rejects.toMatchObject({
      code: "E_CHAIN_UNREACHABLE",
    });

    const unenrolled = await Device.open(tempDeviceDir(), { registry });
    devices.push(unenrolled);
    dirs.push(unenrolled.dataDir);
    await unenrolled.init();
    await expect(unenrolled.join(head.url, { position: INSIDE })).rejects.toMatchObject({
      code: "E_NO_HEAD",
    });
  });
});
