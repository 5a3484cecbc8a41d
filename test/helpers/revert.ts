import type { BaseContract } from "ethers";
import { expect } from "vitest";

/**
 * Asserts that `action` reverts with the custom error `name` of `contract` (and, when given,
 * exactly these arguments). Decodes the revert data through the contract's ABI, so a revert with a
 * different error, a revert string or no revert at all fails the test.
 */
export async function expectRevert(
  action: Promise<unknown>,
  contract: BaseContract,
  name: string,
  args?: unknown[],
): Promise<void> {
  let caught: unknown;
  try {
    await action;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a revert with ${name}, but the call succeeded`).toBeDefined();
  const data = findRevertData(caught);
  expect(data, `no revert data in: ${String(caught)}`).toBeTypeOf("string");
  const parsed = contract.interface.parseError(data as string);
  expect(parsed?.name).toBe(name);
  if (args) expect(parsed?.args.toArray().map(normalise)).toEqual(args.map(normalise));
}

function findRevertData(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === "object"; depth++) {
    const candidate = (current as { data?: unknown }).data;
    if (typeof candidate === "string" && candidate.startsWith("0x")) return candidate;
    if (
      candidate &&
      typeof candidate === "object" &&
      typeof (candidate as { data?: unknown }).data === "string"
    ) {
      return (candidate as { data: string }).data;
    }
    current = (current as { error?: unknown; info?: unknown }).error ?? (current as { info?: unknown }).info;
  }
  return undefined;
}

function normalise(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return BigInt(value).toString();
  if (typeof value === "string") return value.toLowerCase();
  return value;
}
