/**
 * Which head the device trusts, and which broker it sends its credential to (docs/device.md
 * § Head pinning). docs/protocol.md §1: the device verifies the JoinResponse against the head
 * address "pinned at enrolment or read from the chain" — so the address comes from the chain
 * (DeviceRegistry), from the operator, or from an earlier pin made from one of those; `/health`
 * (plain, unauthenticated HTTP) only has to agree with it.
 */
import { parseBrokerUrl } from "../../transport/mqtt";
import { DeviceError } from "./errors";
import type { HeadHealth } from "./head-client";
import { type RegistryAnchor, readChainHead } from "./registry-reader";
import type { HeadPin, HeadSource } from "./store/head-pin-store";

/**
 * How the pinned head address was learned: read from the chain, or given by the operator.
 * `first-use` pins (taken from `/health` by earlier versions) are not trusted by a join.
 */
export type { HeadSource };

/** The pinned head: address, cluster, head URL, broker URL (never with userinfo), topic prefix. */
export type PinnedHead = HeadPin;

/** The anchors a pin or join may use; at least one is present. */
export interface TrustAnchor {
  registry?: RegistryAnchor;
  /** The operator's head address, lowercase. */
  headAddress?: string;
  /** An earlier pin made from the chain or the operator. */
  pin?: PinnedHead;
}

/** The head the device will talk to. */
export interface TrustedHead {
  headAddress: string;
  clusterId: number;
  source: HeadSource;
}

export const NO_TRUST_ANCHOR_MESSAGE =
  "no trusted head address: give the registry to read it from the chain (SDK: `registry: { rpcUrl, address }`; " +
  "CLI: --rpc-url with --deployment FILE or --registry ADDRESS) or the head address (headAddress, --head-address); " +
  "the address /health reports is never trusted";

/** Hosts the embedded broker reports (it binds to loopback, as the head sees it). */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The anchors available, checked before any network traffic: without one there is nothing to
 * check `/health` against.
 * @throws DeviceError E_NO_TRUST_ANCHOR, E_BAD_ARGUMENT (malformed head address)
 */
export function trustAnchor(
  registry: RegistryAnchor | undefined,
  headAddress: string | undefined,
  pinned: PinnedHead | undefined,
): TrustAnchor {
  const pin = pinned?.source === "chain" || pinned?.source === "configured" ? pinned : undefined;
  const configured = headAddress === undefined ? undefined : checkAddress(headAddress, "headAddress");
  if (!registry && configured === undefined && !pin)
    throw new DeviceError("E_NO_TRUST_ANCHOR", NO_TRUST_ANCHOR_MESSAGE);
  return {
    ...(registry ? { registry } : {}),
    ...(configured === undefined ? {} : { headAddress: configured }),
    ...(pin ? { pin } : {}),
  };
}

/**
 * The trusted head for `deviceIdHex`, by precedence: the chain (followed, so a head replaced on
 * chain replaces an older pin), the operator's address, the earlier pin. `health` must report the
 * same address. A device not enrolled yet (unless `mustBeEnrolled`) gets the on-chain head of the
 * cluster `health` names.
 * @throws DeviceError E_HEAD_MISMATCH, E_CHAIN_UNREACHABLE, E_NO_HEAD
 */
export async function trustedHead(
  anchor: TrustAnchor,
  deviceIdHex: string,
  health: HeadHealth,
  headUrl: string,
  mustBeEnrolled: boolean,
): Promise<TrustedHead> {
  let expected: TrustedHead;
  let named: string;
  let hint = "";
  if (anchor.registry) {
    const chain = await readChainHead(
      anchor.registry,
      deviceIdHex,
      mustBeEnrolled ? undefined : health.clusterId,
    );
    if (anchor.headAddress !== undefined && anchor.headAddress !== chain.headAddress)
      throw new DeviceError(
        "E_HEAD_MISMATCH",
        `the head address given (${anchor.headAddress}) is not the head of cluster ${chain.clusterId} on chain (${chain.headAddress})`,
      );
    expected = { headAddress: chain.headAddress, clusterId: chain.clusterId, source: "chain" };
    named = `the chain (head of cluster ${chain.clusterId})`;
  } else if (anchor.headAddress !== undefined) {
    // The cluster ID is a hint here: both join signatures cover it, so a wrong one fails the join.
    expected = { headAddress: anchor.headAddress, clusterId: health.clusterId, source: "configured" };
    named = "the head address given";
  } else {
    const pin = anchor.pin!;
    expected = { headAddress: pin.headAddress, clusterId: pin.clusterId, source: pin.source };
    named = "the pinned head";
    hint =
      "; if the head was replaced on chain, give the registry (--rpc-url and --deployment) so the device follows the chain";
  }
  const reported = health.headAddress.toLowerCase();
  // Checked before any JoinRequest (it carries the device's position) goes to that head.
  if (reported !== expected.headAddress)
    throw new DeviceError(
      "E_HEAD_MISMATCH",
      `the head at ${headUrl} reports address ${reported}, but ${named} is ${expected.headAddress}: it is not this device's head${hint}`,
    );
  return expected;
}

/**
 * A broker URL the device may store and connect to: userinfo removed (someone else's credential,
 * which MQTT.js would send instead of the device's own).
 * @throws DeviceError E_BAD_ARGUMENT
 */
export function deviceBrokerUrl(url: string, name: string): string {
  try {
    return parseBrokerUrl(url).url;
  } catch (error) {
    throw new DeviceError("E_BAD_ARGUMENT", `${name}: ${(error as Error).message}`);
  }
}

/**
 * The broker URL pinned with the head: the operator's, or the scheme, port and path `/health`
 * reports, on the host of the head URL the operator gave. `/health` is not authenticated, so it
 * may choose a port on the head's host but not send the device's broker credential to another
 * host; a head that reports a broker elsewhere needs the operator's `brokerUrl`. The embedded
 * broker reports a loopback URL, which names the head's host as the head sees it.
 * @throws DeviceError E_NO_TRUST_ANCHOR (broker on another host), E_BAD_ARGUMENT
 */
export function pinnedBrokerUrl(headUrl: string, reported: string, configured: string | undefined): string {
  if (configured !== undefined) return deviceBrokerUrl(configured, "brokerUrl");
  let broker: URL;
  try {
    broker = new URL(parseBrokerUrl(reported).url);
  } catch {
    throw new DeviceError(
      "E_NO_TRUST_ANCHOR",
      "the head reports no usable broker URL: give it (brokerUrl, --broker-url)",
    );
  }
  const head = new URL(headUrl);
  if (broker.hostname !== head.hostname && !LOOPBACK_HOSTS.has(broker.hostname))
    throw new DeviceError(
      "E_NO_TRUST_ANCHOR",
      `the head reports its MQTT broker on another host (${broker.hostname}) than its own (${head.hostname}); ` +
        "the device sends its broker credential only where the operator says: give the broker URL (brokerUrl, --broker-url)",
    );
  broker.hostname = head.hostname;
  broker.search = "";
  broker.hash = "";
  return broker.toString();
}

function checkAddress(value: string, name: string): string {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value))
    throw new DeviceError("E_BAD_ARGUMENT", `${name}: expected a 0x-prefixed 20-byte address`);
  return value.toLowerCase();
}
