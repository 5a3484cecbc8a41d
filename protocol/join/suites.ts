/**
 * Join-suite negotiation (docs/protocol.md § Join suites): the device offers the suites it
 * accepts, the head picks the first suite of its policy that is in the offer. Both signatures
 * cover the offer and the choice, so neither can be changed on the way.
 * @module
 */
import { JoinSuite } from "../constants";

/** Names of the join suites in settings and on the command line. */
export const JOIN_SUITE_NAMES = {
  classic: JoinSuite.SECP256K1_ECDH_HKDF_SHA256,
  hybrid: JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256,
} as const;
/** A join-suite name. */
export type JoinSuiteName = keyof typeof JOIN_SUITE_NAMES;

/** Every implemented join suite. */
export const JOIN_SUITES: readonly JoinSuite[] = Object.values(JOIN_SUITE_NAMES);

/**
 * Hybrid preferred, classic allowed: the head's default policy and the device SDK's default offer.
 * Classic stays allowed so devices from before the hybrid suite keep joining.
 */
export const DEFAULT_JOIN_SUITES: readonly JoinSuite[] = [
  JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256,
  JoinSuite.SECP256K1_ECDH_HKDF_SHA256,
];

/** True when `v` is an implemented join suite. */
export function isJoinSuite(v: number): v is JoinSuite {
  return JOIN_SUITES.includes(v as JoinSuite);
}

/** The setting name of a suite (`classic` or `hybrid`). */
export function joinSuiteName(suite: JoinSuite): JoinSuiteName {
  return suite === JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256 ? "hybrid" : "classic";
}

/**
 * Check a list of suites (an offer or a policy): not empty, each implemented, no repeats.
 * @param field - argument name for the error
 * @throws RangeError naming the field
 */
export function assertJoinSuites(suites: readonly number[], field: string): readonly JoinSuite[] {
  if (!Array.isArray(suites) || suites.length === 0)
    throw new RangeError(`${field}: at least one join suite`);
  for (const s of suites)
    if (!isJoinSuite(s)) throw new RangeError(`${field}: unknown join suite ${String(s)}`);
  if (new Set(suites).size !== suites.length) throw new RangeError(`${field}: a join suite is listed twice`);
  return suites as readonly JoinSuite[];
}

/**
 * Parse a comma-separated list of suite names in preference order, e.g. `hybrid,classic`.
 * @throws RangeError naming the unknown or repeated name
 */
export function parseJoinSuites(text: string): JoinSuite[] {
  const names = text.split(",").map((n) => n.trim().toLowerCase());
  const suites = names.map((n) => {
    if (!Object.hasOwn(JOIN_SUITE_NAMES, n))
      throw new RangeError(`unknown join suite "${n}" (use ${Object.keys(JOIN_SUITE_NAMES).join(", ")})`);
    return JOIN_SUITE_NAMES[n as JoinSuiteName];
  });
  return [...assertJoinSuites(suites, "join suites")];
}

/** The offer byte: bit s − 1 set for each offered suite s. */
export function encodeOffer(suites: readonly JoinSuite[]): number {
  let mask = 0;
  for (const s of suites) mask |= 1 << (s - 1);
  return mask;
}

/**
 * Decode an offer byte into suites (ascending), or undefined when it has a bit for no
 * implemented suite or is empty.
 */
export function decodeOffer(mask: number): JoinSuite[] | undefined {
  const suites = JOIN_SUITES.filter((s) => (mask & (1 << (s - 1))) !== 0);
  return mask !== 0 && encodeOffer(suites) === mask ? [...suites].sort((a, b) => a - b) : undefined;
}

/**
 * The head's choice: the first suite of `policy` that the device offered.
 * @returns undefined when they share none
 */
export function chooseJoinSuite(
  policy: readonly JoinSuite[],
  offer: readonly JoinSuite[],
): JoinSuite | undefined {
  return policy.find((s) => offer.includes(s));
}
