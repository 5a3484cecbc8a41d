/** Turning a failed registry transaction into the head's typed error. */
import { HeadError } from "../errors";

/** Registry custom errors and the codes clients see for them. */
const REVERT_CODES: Record<string, ConstructorParameters<typeof HeadError>[0]> = {
  DeviceRegistryAlreadyEnrolled: "E_ALREADY_ENROLLED",
  DeviceRegistryUnknownDevice: "E_NOT_FOUND",
  DeviceRegistryDeviceRevoked: "E_REVOKED",
  DeviceRegistryNotClusterHead: "E_CHAIN_REJECTED",
  DeviceRegistryUnknownCluster: "E_CHAIN_REJECTED",
  DeviceRegistrySameKey: "E_VALIDATION",
  DeviceRegistryZeroAddress: "E_VALIDATION",
  DeviceRegistryInvalidDeviceId: "E_VALIDATION",
};

/**
 * Maps an ethers error from a registry transaction to a HeadError: a known revert keeps its
 * meaning, an unreachable RPC is E_CHAIN_UNAVAILABLE, anything else E_CHAIN_REJECTED.
 */
export function chainError(error: unknown): HeadError {
  const e = error as { code?: string; revert?: { name?: string }; shortMessage?: string };
  const revertName = e.revert?.name;
  if (revertName) {
    return new HeadError(REVERT_CODES[revertName] ?? "E_CHAIN_REJECTED", `registry refused: ${revertName}`);
  }
  if (
    e.code === "NETWORK_ERROR" ||
    e.code === "TIMEOUT" ||
    /ECONNREFUSED|fetch failed/.test(String(e.shortMessage ?? error))
  ) {
    return new HeadError("E_CHAIN_UNAVAILABLE", "the chain is not reachable");
  }
  return new HeadError("E_CHAIN_REJECTED", "the registry transaction failed");
}
