/**
 * Suite `crypto`: the primitives the protocol uses, @noble (what the protocol runs) against
 * node:crypto (OpenSSL) in the same run, and the head's per-join and per-grant crypto estimated
 * from them. This is the bound the other suites are compared with.
 * @module
 */
import {
  createCipheriv,
  createECDH,
  createHmac,
  generateKeyPairSync,
  hkdfSync,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { utf8 } from "../../protocol/bytes";
import { AeadSuite } from "../../protocol/constants";
import { aeadSeal } from "../../protocol/crypto/aead";
import { nativeCurveBackend } from "../../platform/native-curve-backend";
import { nodeSymmetricBackend } from "../../platform/node-symmetric-backend";
import { nobleBackend, useSymmetricBackend } from "../../protocol/crypto/backend";
import { type CurveBackend, nobleCurveBackend, useCurveBackend } from "../../protocol/crypto/curve-backend";
import { ecdhSharedX, generateKeyPair } from "../../protocol/crypto/ecdh";
import { recoverAddress, signLabelled } from "../../protocol/crypto/ecdsa";
import { sha256 } from "../../protocol/crypto/hash";
import { hkdfSha256 } from "../../protocol/crypto/kdf";
import { mac } from "../../protocol/crypto/mac";
import { systemRandom } from "../../protocol/crypto/random";
import { measureGrantCryptoAB, measureHkdf32 } from "../lib/grant-crypto-ab";
import { compareSync, row } from "../lib/measure";
import type { Row, Series } from "../lib/schema";
import type { Suite } from "../lib/suite";

export const AEAD_SIZES = [64, 256, 4096, 65536] as const;
const LABEL = "iotguard/v1/bench";

export const cryptoSuite: Suite = {
  name: "crypto",
  description:
    "noble vs node:crypto vs libsecp256k1: secp256k1 sign/verify/recover/ECDH, AES-256-GCM and ChaCha20-Poly1305 at 64 B–64 KiB, HMAC, HKDF",
  async run(ctx) {
    // "noble" here means the protocol's wrappers on @noble, whatever backend the run uses elsewhere.
    const previousBackend = useSymmetricBackend(nobleBackend);
    const previousCurve = useCurveBackend(nobleCurveBackend);
    try {
      return await measureCrypto(ctx);
    } finally {
      useSymmetricBackend(previousBackend);
      useCurveBackend(previousCurve);
    }
  },
};

async function measureCrypto(ctx: Parameters<Suite["run"]>[0]): ReturnType<Suite["run"]> {
  const rounds = ctx.quick ? 1 : 3;
  const ms = ctx.quick ? 40 : 250;
  const rows: Row[] = [];
  const series: Series[] = [];
  const pair = (name: string, noble: () => unknown, node: () => unknown, unit = "ops/s") => {
    const r = compareSync(noble, node, rounds, ms);
    rows.push(
      row("crypto", {
        case: `${name}/noble`,
        unit,
        value: r.a,
        baseline: { case: `${name}/node:crypto`, value: r.b },
      }),
    );
    return r;
  };

  // secp256k1. The head signs (join response), recovers the device's key from its signature
  // (join request) and does one ECDH with a fresh ephemeral key per join.
  const body = randomBytes(200);
  const labelled = Buffer.concat([Buffer.from(LABEL), body]);
  const nobleKey = secp256k1.keygen();
  const nodeKeys = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
  const digest = sha256(utf8(LABEL), body);
  const nobleSig = secp256k1.sign(digest, nobleKey.secretKey, { prehash: false });
  const recoverable = signLabelled(nobleKey.secretKey, LABEL, body);
  const nodeSig = nodeSign("sha256", labelled, { key: nodeKeys.privateKey, dsaEncoding: "ieee-p1363" });
  ctx.progress(0.05, "ecdsa sign");
  const sign = pair(
    "ecdsa-sign",
    () => signLabelled(nobleKey.secretKey, LABEL, body),
    () => nodeSign("sha256", labelled, { key: nodeKeys.privateKey, dsaEncoding: "ieee-p1363" }),
  );
  ctx.progress(0.15, "ecdsa verify");
  const verify = pair(
    "ecdsa-verify",
    () => secp256k1.verify(nobleSig, sha256(utf8(LABEL), body), nobleKey.publicKey, { prehash: false }),
    () => nodeVerify("sha256", labelled, { key: nodeKeys.publicKey, dsaEncoding: "ieee-p1363" }, nodeSig),
  );
  ctx.progress(0.25, "ecdsa recover");
  // node:crypto cannot recover a key from a signature; its verify with a known key is the closest.
  const recover = compareSync(
    () => recoverAddress(LABEL, body, recoverable),
    () => nodeVerify("sha256", labelled, { key: nodeKeys.publicKey, dsaEncoding: "ieee-p1363" }, nodeSig),
    rounds,
    ms,
  );
  rows.push(
    row("crypto", {
      case: "ecdsa-recover-address/noble",
      unit: "ops/s",
      value: recover.a,
      baseline: { case: "ecdsa-verify/node:crypto", value: recover.b },
      note: "what the head runs per join request; node:crypto has no key recovery, so its verify is the baseline",
    }),
  );
  ctx.progress(0.35, "ecdh");
  const peer = generateKeyPair(systemRandom);
  const nodeEcdh = createECDH("secp256k1");
  nodeEcdh.generateKeys();
  const nodePeer = createECDH("secp256k1");
  nodePeer.generateKeys();
  const nodePeerPub = nodePeer.getPublicKey(null, "compressed");
  const ecdhSecret = generateKeyPair(systemRandom).secretKey;
  const ecdh = pair(
    "ecdh",
    () => ecdhSharedX(ecdhSecret, peer.publicKey),
    () => nodeEcdh.computeSecret(nodePeerPub),
  );
  ctx.progress(0.42, "keygen");
  const keygen = pair(
    "ephemeral-keygen",
    () => generateKeyPair(systemRandom),
    () => {
      const e = createECDH("secp256k1");
      e.generateKeys();
      return e.getPublicKey(null, "compressed");
    },
  );

  // The same wrappers on the libsecp256k1 curve backend (what the head runs with --crypto-backend
  // node) against @noble: the head's per-join curve work is sign + recover + keygen + ECDH.
  ctx.progress(0.45, "libsecp256k1");
  const native = nativeCurveBackend();
  const onCurve = (backend: CurveBackend, f: () => unknown) => () => {
    useCurveBackend(backend);
    try {
      return f();
    } finally {
      useCurveBackend(nobleCurveBackend);
    }
  };
  const joinCurve = () => {
    signLabelled(nobleKey.secretKey, LABEL, body);
    recoverAddress(LABEL, body, recoverable);
    const eph = generateKeyPair(systemRandom);
    ecdhSharedX(eph.secretKey, peer.publicKey);
  };
  for (const [name, f] of [
    ["ecdsa-sign", () => signLabelled(nobleKey.secretKey, LABEL, body)],
    ["ecdsa-recover-address", () => recoverAddress(LABEL, body, recoverable)],
    ["ecdh", () => ecdhSharedX(ecdhSecret, peer.publicKey)],
    ["ephemeral-keygen", () => generateKeyPair(systemRandom)],
    ["join-curve-work", joinCurve],
  ] as const) {
    const r = compareSync(onCurve(native, f), onCurve(nobleCurveBackend, f), rounds, ms);
    rows.push(
      row("crypto", {
        case: `${name}/libsecp256k1`,
        unit: "ops/s",
        value: r.a,
        baseline: { case: `${name}/noble`, value: r.b },
        ...(name === "join-curve-work"
          ? { note: "sign + recover + ephemeral keygen + ECDH: the curve work of one join on the head" }
          : {}),
      }),
    );
  }

  // Symmetric primitives of the grant (HMAC-SHA256 MACs, HKDF key derivation, AES-GCM seals).
  ctx.progress(0.5, "hmac / hkdf");
  const key32 = randomBytes(32);
  const macData = randomBytes(120);
  const hmacR = pair(
    "hmac-sha256-120B",
    () => mac(key32, LABEL, macData),
    () => createHmac("sha256", key32).update(LABEL).update(macData).digest().subarray(0, 16),
  );
  const salt = randomBytes(16);
  const info = randomBytes(40);
  const hkdfR = pair(
    "hkdf-sha256-32B",
    () => hkdfSha256(key32, salt, info, 32),
    () => hkdfSync("sha256", key32, salt, info, 32),
  );

  const points: Series["points"] = [];
  const aeadRates: Record<string, { noble: number; node: number }> = {};
  let step = 0;
  for (const [suiteName, suite, nodeName] of [
    ["aes-256-gcm", AeadSuite.AES_256_GCM, "aes-256-gcm"],
    ["chacha20-poly1305", AeadSuite.CHACHA20_POLY1305, "chacha20-poly1305"],
  ] as const) {
    for (const size of AEAD_SIZES) {
      ctx.progress(0.55 + (0.45 * step++) / (2 * AEAD_SIZES.length), `${suiteName} ${size} B`);
      const plaintext = randomBytes(size);
      const aad = randomBytes(15);
      const nonce = randomBytes(12);
      const r = pair(
        `${suiteName}-seal/${size}B`,
        () => aeadSeal(suite, key32, nonce, plaintext, aad),
        () => {
          const c = createCipheriv(nodeName, key32, nonce, { authTagLength: 16 } as never) as ReturnType<
            typeof createCipheriv
          > & { setAAD(b: Buffer): void; getAuthTag(): Buffer };
          c.setAAD(aad);
          const out = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
          return out;
        },
        "msg/s",
      );
      aeadRates[`${suiteName}/${size}`] = { noble: r.a, node: r.b };
      points.push({ x: size, y: (r.a * size) / 1e6, group: `${suiteName} noble` });
      points.push({ x: size, y: (r.b * size) / 1e6, group: `${suiteName} node:crypto` });
    }
  }

  // The head's crypto per join and per grant, from the primitives above (time per op summed).
  const perJoin = (r: { sign: number; recover: number; ecdh: number; keygen: number }) =>
    1 / (1 / r.sign + 1 / r.recover + 1 / r.ecdh + 1 / r.keygen);
  rows.push(
    row("crypto", {
      case: "head-join-crypto/noble",
      unit: "joins/s",
      value: perJoin({ sign: sign.a, recover: recover.a, ecdh: ecdh.a, keygen: keygen.a }),
      baseline: {
        case: "head-join-crypto/node:crypto",
        value: perJoin({ sign: sign.b, recover: recover.b, ecdh: ecdh.b, keygen: keygen.b }),
      },
      note: "1 sign + 1 recover (node: verify) + 1 keygen + 1 ECDH per join, one core",
    }),
  );
  const gcm32 = aeadRates["aes-256-gcm/64"]!;
  // MAC keys are derived once per membership (issue 16): per grant 2 MACs, 2 grant keys, 2 seals.
  const perGrant = (h: number, k: number, g: number) => 1 / (2 / h + 2 / k + 2 / g);
  rows.push(
    row("crypto", {
      case: "head-grant-crypto/noble",
      unit: "grants/s",
      value: perGrant(hmacR.a, hkdfR.a, gcm32.noble),
      baseline: { case: "head-grant-crypto/node:crypto", value: perGrant(hmacR.b, hkdfR.b, gcm32.node) },
      note: "2 HMAC + 2 HKDF (the grant keys; MAC keys are derived once per membership) + 2 AES-GCM seals (64 B rate) per grant, one core",
    }),
  );

  // Issue 16, A/B in this process: each change to the grant's crypto added in turn.
  ctx.progress(0.97, "issueGrant A/B");
  const previous = useSymmetricBackend(nodeSymmetricBackend);
  try {
    const ab = measureGrantCryptoAB(ctx.quick ? { rounds: 3, grants: 300 } : { rounds: 7, grants: 3000 });
    const note =
      "CPU µs per issueGrant (one core, median of alternating rounds): before = HKDF by hkdfSync, MAC keys derived per grant, one CSPRNG call per draw";
    for (const [name, value] of [
      ["hkdf-as-two-hmacs", ab.hmacHkdf],
      ["plus-mac-keys-once-per-membership", ab.macKeysOnce],
      ["plus-pooled-randomness", ab.after],
    ] as const) {
      rows.push(
        row("crypto", {
          case: `issueGrant-cpu/${name}`,
          unit: "µs CPU",
          better: "lower",
          value,
          baseline: { case: "issueGrant-cpu/before-issue-16", value: ab.before },
          note,
        }),
      );
    }
    const hkdf = measureHkdf32(ctx.quick ? { rounds: 3, calls: 2000 } : {});
    rows.push(
      row("crypto", {
        case: "hkdf-sha256-32B/two-hmacs",
        unit: "µs CPU",
        better: "lower",
        value: hkdf.twoHmacs,
        baseline: { case: "hkdf-sha256-32B/hkdfSync", value: hkdf.hkdfSync },
        note: `what the head's node:crypto backend computes; noble ${hkdf.noble.toFixed(1)} µs`,
      }),
    );
  } finally {
    useSymmetricBackend(previous);
  }
  void verify;

  series.push({
    suite: "crypto",
    name: "crypto-aead-throughput",
    title: "AEAD seal throughput vs payload size (noble vs node:crypto)",
    kind: "line",
    x: { label: "payload (bytes)", scale: "log" },
    y: { label: "MB/s", scale: "log" },
    points,
  });
  series.push({
    suite: "crypto",
    name: "crypto-ecc",
    title: "secp256k1 operations per second (noble vs node:crypto)",
    kind: "bar",
    x: { label: "operation", scale: "band" },
    y: { label: "ops/s", scale: "log" },
    points: rows
      .filter((r) => /^(ecdsa|ecdh|ephemeral)/.test(r.case))
      .flatMap((r) => [
        { x: r.case.replace(/\/noble$/, ""), y: r.value, group: "noble" },
        { x: r.case.replace(/\/noble$/, ""), y: r.baseline?.value ?? 0, group: "node:crypto" },
      ]),
  });
  return { rows, series };
}
