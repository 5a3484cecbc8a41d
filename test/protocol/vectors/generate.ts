/**
 * Deterministic run of every flow (fixed keys, seeded randomness, fixed time). The fixed-vector
 * test compares its output with iotguard-v2.json (protocol version 2) so any change to the wire
 * format is caught. Regenerate deliberately with:
 * npx tsx test/protocol/vectors/generate.ts > test/protocol/vectors/iotguard-v2.json
 * iotguard-v1.json keeps the version-1 messages, which version 2 refuses (vectors.test.ts).
 */
import { AeadSuite, createChannel, JoinSuite, toHex } from "../../../protocol";
import { fullSession } from "../grant-fixture";
import { device, join } from "../helpers";

const HYBRID = JoinSuite.MLKEM768_SECP256K1_HKDF_SHA256;
const CLASSIC = JoinSuite.SECP256K1_ECDH_HKDF_SHA256;

export function generateVectors(): Record<string, string> {
  const f = fullSession({ seed: "vectors", suite: AeadSuite.AES_256_GCM });
  const c = fullSession({ seed: "vectors-chacha", suite: AeadSuite.CHACHA20_POLY1305 });
  const a = createChannel(f.s1, { keepSessionKey: true });
  const b = createChannel(f.s2);
  const ac = createChannel(c.s1);
  const pt = new TextEncoder().encode("temp=21.5C");
  // The hybrid suite (docs/protocol.md § Join suites), and a classic head answering a hybrid offer.
  const h = join(device(1), "vectors-hybrid", undefined, { offer: [HYBRID, CLASSIC] });
  const hc = join(device(1), "vectors-hybrid-classic", undefined, {
    offer: [HYBRID, CLASSIC],
    policy: [CLASSIC],
  });
  return {
    joinChallenge: toHex(f.j1.challenge.message),
    joinRequest: toHex(f.j1.start.request),
    joinResponse: toHex(f.j1.res.response),
    memberKey: toHex(f.j1.deviceMembership.memberKey),
    sessionRequest: toHex(f.sr.message),
    grantRequest: toHex(f.gr.message),
    grantToInitiator: toHex(f.issued.toInitiator),
    grantToResponder: toHex(f.issued.toResponder),
    sessionKey: toHex(f.s1.sessionKey),
    frameI2R_seq0_aes: toHex(a.sender.seal(pt, f.now)),
    frameR2I_seq0_aes: toHex(b.sender.seal(pt, f.now)),
    frameI2R_seq7_aes: toHex(a.sender.seal(pt, f.now, 7n)),
    frameI2R_seq0_chacha: toHex(ac.sender.seal(pt, c.now)),
    joinRequestHybrid: toHex(h.start.request),
    joinResponseHybrid: toHex(h.res.response),
    memberKeyHybrid: toHex(h.deviceMembership.memberKey),
    joinRequestHybridOffer: toHex(hc.start.request),
    joinResponseClassicChoice: toHex(hc.res.response),
    memberKeyClassicChoice: toHex(hc.deviceMembership.memberKey),
  };
}

if (require.main === module) console.log(JSON.stringify(generateVectors(), null, 2));
