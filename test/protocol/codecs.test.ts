/**
 * fast-check properties over every message codec: round-trips, and no decoder throws anything
 * but ProtocolError on arbitrary bytes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../protocol";
import { decodeFrame, encodeFrameHeader } from "../../protocol/channel/frame";
import { MessageSize } from "../../protocol/constants";
import { ERROR_CODE_LIST } from "../../protocol/errors";
import * as G from "../../protocol/grant/codec";
import * as J from "../../protocol/join/codec";

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
/** u64 milliseconds (GrantWarning). */
const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
/** u32 seconds on the wire, whole seconds in ms in the API (JoinResponse, SessionRequest, Grant). */
const seconds = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((s) => s * 1000);
const suite = fc.constantFrom(1 as const, 2 as const);
const compressed = fc.tuple(fc.constantFrom(2, 3), bytes(32)).map(([p, x]) => Uint8Array.of(p, ...x));
const position = fc.record({
  lat: fc.integer({ min: -90e6, max: 90e6 }),
  lon: fc.integer({ min: -180e6, max: 180e6 }),
});

const arbs = {
  challenge: fc.record({ challenge: bytes(16) }),
  joinRequest: fc.oneof(
    fc.record({
      suite: fc.constant(1 as const),
      deviceTag: bytes(16),
      challenge: bytes(16),
      position,
      ephemeralPublicKey: compressed,
      signature: bytes(64),
    }),
    fc.record({
      suite: fc.constant(2 as const),
      offer: fc.constantFrom([2 as const], [1 as const, 2 as const]),
      deviceTag: bytes(16),
      challenge: bytes(16),
      position,
      ephemeralPublicKey: compressed,
      kemPublicKey: bytes(1184),
      signature: bytes(64),
    }),
  ),
  joinResponse: fc.oneof(
    fc.record({
      suite: fc.constant(1 as const),
      kid: bytes(4),
      expiresAt: seconds,
      ephemeralPublicKey: compressed,
      signature: bytes(64),
    }),
    fc.record({
      suite: fc.constant(2 as const),
      kid: bytes(4),
      expiresAt: seconds,
      ephemeralPublicKey: compressed,
      kemCiphertext: bytes(1088),
      signature: bytes(64),
    }),
  ),
  sessionRequest: fc.record({ suite, kid: bytes(4), nonce: bytes(16), timestamp: seconds, mac: bytes(16) }),
  grant: fc.record({
    role: fc.constantFrom(1 as const, 2 as const),
    suite,
    sessionId: bytes(8),
    issuedAt: seconds,
    expiresAt: seconds,
    nonceHint: bytes(4),
    sealed: bytes(48),
  }),
  warning: fc.record({
    reason: fc.constantFrom(...ERROR_CODE_LIST),
    nonce: bytes(16),
    issuedAt: time,
    mac: bytes(16),
  }),
};

describe("codec round-trips", () => {
  it("JoinChallenge", () =>
    fc.assert(
      fc.property(arbs.challenge, (m) => {
        expect(J.decodeJoinChallenge(J.encodeJoinChallenge(m))).toEqual(m);
      }),
    ));
  it("JoinRequest", () =>
    fc.assert(
      fc.property(arbs.joinRequest, (m) => {
        expect(J.decodeJoinRequest(J.encodeJoinRequest(m))).toEqual(m);
      }),
    ));
  it("JoinResponse", () =>
    fc.assert(
      fc.property(arbs.joinResponse, (m) => {
        expect(J.decodeJoinResponse(J.encodeJoinResponse(m))).toEqual(m);
      }),
    ));
  it("SessionRequest", () =>
    fc.assert(
      fc.property(arbs.sessionRequest, (m) => {
        expect(G.decodeSessionRequest(G.encodeSessionRequest(m))).toEqual(m);
      }),
    ));
  it("GrantRequest", () =>
    fc.assert(
      fc.property(arbs.sessionRequest, bytes(4), bytes(16), bytes(16), (sr, kid, nonce, mac) => {
        const sessionRequestBytes = G.encodeSessionRequest(sr);
        const enc = G.encodeGrantRequest({ kid, nonce, mac, sessionRequestBytes });
        expect(G.decodeGrantRequest(enc)).toEqual({
          kid,
          nonce,
          mac,
          sessionRequestBytes,
          sessionRequest: sr,
        });
      }),
    ));
  it("Grant", () =>
    fc.assert(
      fc.property(arbs.grant, (m) => {
        expect(G.decodeGrant(G.encodeGrant(m))).toEqual(m);
      }),
    ));
  it("GrantWarning", () =>
    fc.assert(
      fc.property(arbs.warning, (m) => {
        expect(G.decodeGrantWarning(G.encodeGrantWarning(m))).toEqual(m);
      }),
    ));
  it("Frame", () =>
    fc.assert(
      fc.property(
        fc.constantFrom(0x20 as const, 0x21 as const),
        suite,
        bytes(4),
        fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }),
        fc.uint8Array({ minLength: 16, maxLength: 200 }),
        (type, s, sid, seq, sealed) => {
          const header = encodeFrameHeader(type, s, sid, seq);
          const f = decodeFrame(Uint8Array.from([...header, ...sealed]));
          expect(f).toEqual({ type, suite: s, shortSessionId: sid, seq, header, sealed });
        },
      ),
    ));
});

const decoders: [string, (b: Uint8Array) => unknown, number][] = [
  ["JoinChallenge", J.decodeJoinChallenge, MessageSize.JOIN_CHALLENGE],
  ["JoinRequest", J.decodeJoinRequest, MessageSize.JOIN_REQUEST],
  ["JoinRequest (hybrid length)", J.decodeJoinRequest, MessageSize.JOIN_REQUEST_HYBRID],
  ["JoinResponse", J.decodeJoinResponse, MessageSize.JOIN_RESPONSE],
  ["JoinResponse (hybrid length)", J.decodeJoinResponse, MessageSize.JOIN_RESPONSE_HYBRID],
  ["SessionRequest", G.decodeSessionRequest, MessageSize.SESSION_REQUEST],
  ["GrantRequest", G.decodeGrantRequest, MessageSize.GRANT_REQUEST],
  ["Grant", G.decodeGrant, MessageSize.GRANT],
  ["GrantWarning", G.decodeGrantWarning, MessageSize.GRANT_WARNING],
  ["Frame", decodeFrame, MessageSize.FRAME_HEADER + 16],
];

describe("decoders on hostile bytes", () => {
  it.each(decoders)(
    "%s throws only ProtocolError (E_MALFORMED/E_UNSUPPORTED) on arbitrary input",
    (_n, decode, size) => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: size + 8 }), fc.boolean(), (raw, fixHeader) => {
          const b = raw.slice();
          if (fixHeader && b.length >= 2) b[0] = 2; // reach past the version check more often
          try {
            decode(b);
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
            expect(["E_MALFORMED", "E_UNSUPPORTED"]).toContain((e as ProtocolError).code);
          }
        }),
        { numRuns: 300 },
      );
    },
  );

  it.each([
    ["JoinChallenge", () => J.encodeJoinChallenge({ challenge: new Uint8Array(16) }), J.decodeJoinChallenge],
    [
      "SessionRequest",
      () =>
        G.encodeSessionRequest({
          suite: 1,
          kid: new Uint8Array(4),
          nonce: new Uint8Array(16),
          timestamp: 1000,
          mac: new Uint8Array(16),
        }),
      G.decodeSessionRequest,
    ],
  ] as const)(
    "%s: truncated, trailing garbage, version 1 and an unknown version are E_MALFORMED",
    (_n, make, decode) => {
      const good = make();
      expect(good[0]).toBe(2);
      for (const bad of [
        good.subarray(0, good.length - 1),
        Uint8Array.from([...good, 0]),
        Uint8Array.from([1, ...good.subarray(1)]),
        Uint8Array.from([3, ...good.subarray(1)]),
        new Uint8Array(0),
      ]) {
        expect(() => decode(bad)).toThrow(ProtocolError);
        try {
          decode(bad);
        } catch (e) {
          expect((e as ProtocolError).code).toBe("E_MALFORMED");
        }
      }
    },
  );

  it("a join suite that does not fit the length, a bad offer and an unknown suite are E_MALFORMED", () => {
    const classic = J.encodeJoinRequest({
      suite: 1,
      deviceTag: new Uint8Array(16),
      challenge: new Uint8Array(16),
      position: { lat: 0, lon: 0 },
      ephemeralPublicKey: Uint8Array.of(2, ...new Uint8Array(32)),
      signature: new Uint8Array(64),
    });
    const hybrid = J.encodeJoinRequest({
      suite: 2,
      offer: [1, 2],
      deviceTag: new Uint8Array(16),
      challenge: new Uint8Array(16),
      position: { lat: 0, lon: 0 },
      ephemeralPublicKey: Uint8Array.of(2, ...new Uint8Array(32)),
      kemPublicKey: new Uint8Array(1184),
      signature: new Uint8Array(64),
    });
    expect(J.decodeJoinRequest(hybrid)).toMatchObject({ suite: 2, offer: [1, 2] });
    const cases: Uint8Array[] = [];
    const edit = (base: Uint8Array, at: number, v: number) => {
      const c = base.slice();
      c[at] = v;
      cases.push(c);
    };
    edit(classic, 2, 2); // hybrid suite byte on a classic-length request
    edit(hybrid, 2, 1); // classic suite byte on a hybrid-length request
    edit(classic, 2, 9); // unknown suite
    edit(hybrid, 3, 0x01); // hybrid layout whose offer lacks hybrid
    edit(hybrid, 3, 0x00); // empty offer
    edit(hybrid, 3, 0x07); // a bit for no known suite
    for (const c of cases) expect(() => J.decodeJoinRequest(c)).toThrow(/E_MALFORMED/);
    expect(() => J.encodeJoinRequest({ ...J.decodeJoinRequest(hybrid), offer: [1] } as never)).toThrow(
      RangeError,
    );
  });

  it("times on the wire are u32 seconds: encoders refuse a time that is not a whole second or is past 2106", () => {
    const sr = {
      suite: 1 as const,
      kid: new Uint8Array(4),
      nonce: new Uint8Array(16),
      mac: new Uint8Array(16),
    };
    expect(() => G.encodeSessionRequest({ ...sr, timestamp: 1001 })).toThrow(RangeError);
    expect(() => G.encodeSessionRequest({ ...sr, timestamp: 2 ** 32 * 1000 })).toThrow(RangeError);
    const last = G.encodeSessionRequest({ ...sr, timestamp: (2 ** 32 - 1) * 1000 });
    expect(G.decodeSessionRequest(last).timestamp).toBe((2 ** 32 - 1) * 1000); // 2106-02-07T06:28:15Z
  });
});
