/**
 * The head's grant cryptography, A/B in one process (issue 16): `issueGrant` as it was (HKDF by
 * `hkdfSync`, MAC keys derived per grant, one CSPRNG call per draw) against each change added in
 * turn: HKDF as two HMACs, MAC keys derived once per membership, pooled randomness. Rounds
 * alternate the variants' order; figures are CPU µs per grant (user + system), the median round.
 * Also HKDF-SHA256 of a 32-byte key by each implementation.
 * For the `crypto` suite: `measureGrantCryptoAB({ rounds, grants })` and `measureHkdf32(...)`.
 * @module
 */
import { hkdfSync, randomBytes } from "node:crypto";
import { nodeSymmetricBackend } from "../../platform/node-symmetric-backend";
import { pooledRandom } from "../../platform/pooled-random";
import {
  createGrantRequest,
  createSessionRequest,
  decodeGrantRequest,
  type IssueGrantContext,
  issueGrant,
  type Membership,
  memberMacKeys,
  nobleBackend,
  type RandomSource,
  type SymmetricBackend,
  systemRandom,
  useSymmetricBackend,
} from "../../protocol";

/** node:crypto as it was before issue 16: HKDF through OpenSSL's KDF (`hkdfSync`). */
export const hkdfSyncBackend: SymmetricBackend = {
  ...nodeSymmetricBackend,
  name: "node:crypto (hkdfSync)",
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync("sha256", ikm, salt, info, length)),
};

export interface GrantCryptoAB {
  /** CPU µs per `issueGrant`, by variant. */
  before: number;
  hmacHkdf: number;
  macKeysOnce: number;
  after: number;
}

const NOW = 1_800_000_000_000;

function membership(n: number): Membership {
  return {
    deviceId: new Uint8Array(32).fill(n),
    kid: Uint8Array.of(n, 0, 0, n),
    memberKey: new Uint8Array(randomBytes(32)),
    expiresAt: NOW + 86_400_000,
  };
}

/** One GrantRequest between two members made directly (the grant needs only K_m, kid, ID, expiry). */
function grantContext(): { ctx: IssueGrantContext; m1: Membership; m2: Membership } {
  const [m1, m2] = [membership(1), membership(2)];
  const sr = createSessionRequest({ membership: m1, clusterId: 7, peerId: m2.deviceId, now: NOW });
  const gr = createGrantRequest({
    membership: m2,
    clusterId: 7,
    peerId: m1.deviceId,
    sessionRequest: sr.message,
    now: NOW,
  });
  const ctx: IssueGrantContext = {
    request: decodeGrantRequest(gr.message),
    clusterId: 7,
    initiator: { membership: m1, active: true },
    responder: { membership: m2, active: true },
    replayed: false,
    now: NOW,
  };
  return { ctx, m1, m2 };
}

function cpuMicros(f: () => unknown, n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `variants` in alternating order for `rounds` (+1 warm-up) and returns each one's median. */
function alternate(variants: Record<string, () => number>, rounds: number): Record<string, number> {
  const names = Object.keys(variants);
  const results: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round <= rounds; round++)
    for (const name of round % 2 ? [...names].reverse() : names) {
      const value = variants[name]!();
      if (round > 0) results[name]!.push(value);
    }
  return Object.fromEntries(names.map((n) => [n, median(results[n]!)]));
}

/** `issueGrant` per variant, CPU µs per grant. Restores the symmetric backend it found. */
export function measureGrantCryptoAB(options: { rounds?: number; grants?: number } = {}): GrantCryptoAB {
  const rounds = options.rounds ?? 9;
  const grants = options.grants ?? 3000;
  const { ctx, m1, m2 } = grantContext();
  const withKeys: IssueGrantContext = {
    ...ctx,
    initiator: { ...ctx.initiator!, macKeys: memberMacKeys(m1.memberKey) },
    responder: { ...ctx.responder!, macKeys: memberMacKeys(m2.memberKey) },
  };
  const pooled = pooledRandom();
  const previous = useSymmetricBackend(nodeSymmetricBackend);
  const variant = (backend: SymmetricBackend, c: IssueGrantContext, random: RandomSource) => () => {
    useSymmetricBackend(backend);
    const run = { ...c, random };
    return cpuMicros(() => issueGrant(run), grants);
  };
  try {
    const r = alternate(
      {
        before: variant(hkdfSyncBackend, ctx, systemRandom),
        hmacHkdf: variant(nodeSymmetricBackend, ctx, systemRandom),
        macKeysOnce: variant(nodeSymmetricBackend, withKeys, systemRandom),
        after: variant(nodeSymmetricBackend, withKeys, pooled),
      },
      rounds,
    );
    return { before: r.before!, hmacHkdf: r.hmacHkdf!, macKeysOnce: r.macKeysOnce!, after: r.after! };
  } finally {
    useSymmetricBackend(previous);
    pooled.wipe();
  }
}

/** HKDF-SHA256 of a 32-byte key (the grant key's shape), CPU µs per derivation, by implementation. */
export function measureHkdf32(options: { rounds?: number; calls?: number } = {}): {
  hkdfSync: number;
  twoHmacs: number;
  noble: number;
} {
  const calls = options.calls ?? 20_000;
  const [ikm, salt, info] = [randomBytes(32), randomBytes(24), randomBytes(23)];
  return alternate(
    {
      hkdfSync: () => cpuMicros(() => hkdfSyncBackend.hkdfSha256(ikm, salt, info, 32), calls),
      twoHmacs: () => cpuMicros(() => nodeSymmetricBackend.hkdfSha256(ikm, salt, info, 32), calls),
      noble: () => cpuMicros(() => nobleBackend.hkdfSha256(ikm, salt, info, 32), calls / 10),
    },
    options.rounds ?? 7,
  ) as { hkdfSync: number; twoHmacs: number; noble: number };
}
