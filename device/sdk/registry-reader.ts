/**
 * The device's trust anchor on chain: which head heads this device's cluster, read from the
 * DeviceRegistry over plain JSON-RPC (`eth_call`), as docs/protocol.md §1 asks ("the head address
 * pinned at enrolment or read from the chain"). Two views only: `getDevice(id).clusterId`, then
 * `getCluster(clusterId).head`. No ethers provider: nothing keeps polling or retrying in the
 * background of a short-lived CLI, and every call has a deadline.
 */
import { Interface } from "ethers";
import { DeviceError } from "./errors";

/** Where the device reads the DeviceRegistry. */
export interface RegistryAnchor {
  /** JSON-RPC URL of the chain, e.g. http://127.0.0.1:8545. */
  rpcUrl: string;
  /** Address of the DeviceRegistry (0x…, e.g. `address` of deployments/localhost.json). */
  address: string;
  /** When given, the chain must report this chain ID (from the deployment file). */
  chainId?: number;
}

/** The registry's views the device calls; the ABI test checks them against the compiled contract. */
export const REGISTRY_VIEWS_ABI = [
  "function getDevice(bytes32 deviceId) view returns (tuple(address keyAddress, uint32 clusterId, uint8 status, uint40 enrolledBlock, uint16 keyVersion))",
  "function getCluster(uint32 clusterId) view returns (tuple(address head, uint32 activeDevices, uint32 enrolledDevices, uint32 radius, int32 latitude, int32 longitude))",
] as const;

const views = new Interface(REGISTRY_VIEWS_ABI);
const ZERO_ADDRESS = `0x${"0".repeat(40)}`;
/** IDeviceRegistry.DeviceStatus.None: never enrolled. */
const STATUS_NONE = 0;
const RPC_TIMEOUT_MS = 10_000;

/** What the chain says about the device's head. */
export interface ChainHead {
  /** 0x-prefixed lowercase address of the cluster head on chain. */
  headAddress: string;
  clusterId: number;
  /** False when the device is not (yet) enrolled and `clusterId` came from the caller. */
  enrolled: boolean;
}

/**
 * Reads the head of `deviceIdHex`'s cluster. When the device is not enrolled yet (an enrollment
 * is about to happen), `unenrolledClusterId` names the cluster whose head to read instead; without
 * it an unenrolled device is `E_NO_HEAD`.
 * @throws DeviceError E_CHAIN_UNREACHABLE (no answer, wrong chain, no registry at the address),
 *   E_NO_HEAD (device not enrolled, cluster missing or headless), E_BAD_ARGUMENT (bad anchor)
 */
export async function readChainHead(
  anchor: RegistryAnchor,
  deviceIdHex: string,
  unenrolledClusterId?: number,
): Promise<ChainHead> {
  const rpc = new JsonRpc(anchor);
  await rpc.checkRegistry();
  // ethers decodes into an untyped Result: name the fields the REGISTRY_VIEWS_ABI tuple declares.
  const device: { clusterId: bigint; status: bigint } = views.decodeFunctionResult(
    "getDevice",
    await rpc.call(views.encodeFunctionData("getDevice", [`0x${deviceIdHex}`])),
  )[0];
  const enrolled = Number(device.status) !== STATUS_NONE;
  const clusterId = enrolled ? Number(device.clusterId) : unenrolledClusterId;
  if (clusterId === undefined)
    throw new DeviceError(
      "E_NO_HEAD",
      `device ${deviceIdHex.slice(0, 12)}… is not enrolled in the registry ${rpc.where}: enroll it first ` +
        "(`iotguard device enroll` or `iotguard operator enroll`)",
    );
  const cluster: { head: string; radius: bigint } = views.decodeFunctionResult(
    "getCluster",
    await rpc.call(views.encodeFunctionData("getCluster", [clusterId])),
  )[0];
  if (cluster.radius === 0n || cluster.head === ZERO_ADDRESS)
    throw new DeviceError(
      "E_NO_HEAD",
      `cluster ${clusterId} ${cluster.radius === 0n ? "does not exist" : "has no head"} in the registry ${rpc.where}`,
    );
  return { headAddress: cluster.head.toLowerCase(), clusterId, enrolled };
}

/** A minimal JSON-RPC client with a deadline per call. */
class JsonRpc {
  readonly #url: string;
  readonly #address: string;
  readonly #chainId: number | undefined;
  readonly #headers: Record<string, string> = { "content-type": "application/json" };
  /** The RPC origin, for messages: never its userinfo, path or query (they may hold an API key). */
  readonly #origin: string;
  /** The registry and chain, for messages. */
  readonly where: string;
  #id = 0;

  constructor(anchor: RegistryAnchor) {
    let url: URL;
    try {
      url = new URL(anchor.rpcUrl);
    } catch {
      throw new DeviceError("E_BAD_ARGUMENT", "registry.rpcUrl: not a URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new DeviceError(
        "E_BAD_ARGUMENT",
        "registry.rpcUrl: expected an http:// or https:// JSON-RPC URL",
      );
    if (typeof anchor.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(anchor.address))
      throw new DeviceError("E_BAD_ARGUMENT", "registry.address: expected a 0x-prefixed 20-byte address");
    // fetch refuses URLs with userinfo: send it as HTTP Basic credentials instead.
    if (url.username !== "" || url.password !== "") {
      const user = `${percentDecoded(url.username)}:${percentDecoded(url.password)}`;
      this.#headers.authorization = `Basic ${Buffer.from(user).toString("base64")}`;
      url.username = "";
      url.password = "";
    }
    this.#url = url.toString();
    this.#address = anchor.address.toLowerCase();
    this.#chainId = anchor.chainId;
    this.#origin = url.origin;
    this.where = `${this.#address} on ${this.#origin}`;
  }

  /** The chain answers, is the expected one, and has code at the registry address. */
  async checkRegistry(): Promise<void> {
    if (this.#chainId !== undefined) {
      const chainId = Number(BigInt((await this.#send("eth_chainId", [])) as string));
      if (chainId !== this.#chainId)
        throw new DeviceError(
          "E_CHAIN_UNREACHABLE",
          `the chain at ${this.#origin} is chain ${chainId}, but the deployment is on chain ${this.#chainId}`,
        );
    }
    const code = (await this.#send("eth_getCode", [this.#address, "latest"])) as string;
    if (typeof code !== "string" || code === "0x")
      throw new DeviceError(
        "E_CHAIN_UNREACHABLE",
        `no DeviceRegistry at ${this.where}: is this the chain it was deployed on (\`npm run deploy\`)?`,
      );
  }

  async call(data: string): Promise<string> {
    const result = await this.#send("eth_call", [{ to: this.#address, data }, "latest"]);
    if (typeof result !== "string" || !/^0x[0-9a-fA-F]*$/.test(result))
      throw new DeviceError("E_CHAIN_UNREACHABLE", `the chain at ${this.where} gave a malformed answer`);
    return result;
  }

  async #send(method: string, params: unknown[]): Promise<unknown> {
    let body: { result?: unknown; error?: { message?: string } };
    try {
      const res = await fetch(this.#url, {
        method: "POST",
        headers: this.#headers,
        body: JSON.stringify({ jsonrpc: "2.0", id: ++this.#id, method, params }),
        signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
      });
      body = (await res.json()) as typeof body;
    } catch (error) {
      const cause = (error as Error).cause
        ? ((error as Error).cause as Error).message
        : (error as Error).message;
      throw new DeviceError(
        "E_CHAIN_UNREACHABLE",
        `cannot read the registry ${this.where} (${cause}): start the chain (\`npm run chain\`) or check --rpc-url`,
      );
    }
    if (body.error !== undefined || !("result" in body))
      throw new DeviceError(
        "E_CHAIN_UNREACHABLE",
        `the chain refused ${method} for the registry ${this.where}: ${body.error?.message ?? "no result"}`,
      );
    return body.result;
  }
}

function percentDecoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
