/**
 * The session answer (head → M2): fixed vectors, fast-check round-trips, strict lengths, and every
 * single-bit flip refused by the codec or by the member that opens the part it hits.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acceptGrant,
  acceptGrantWarning,
  decodeSessionAnswer,
  encodeSessionAnswer,
  fromHex,
  issueGrant,
  MessageSize,
  MessageType,
  PROTOCOL_VERSION,
  ProtocolError,
  type SessionAnswer,
  SessionAnswerKind,
  SessionAnswerSize,
  toHex,
} from "../../../protocol";
import { concatBytes } from "../../../protocol/bytes";
import { decodeGrant, encodeGrant, encodeGrantWarning, grantRoleOf } from "../../../protocol/grant/codec";
import { expectCode } from "../expect-code";
import { grantFlow } from "../grant-fixture";

const VECTORS = JSON.parse(
  readFileSync(path.join(__dirname, "../vectors/iotguard-v2.json"), "utf8"),
) as Record<string, string>;
/** The answer to the fixed grant flow of iotguard-v2.json: the responder's Grant, then the initiator's. */
const GRANT_ANSWER_HEX = `${VECTORS.grantToResponder}${VECTORS.grantToInitiator}`;
/** grantFlow({ seed: "vectors-warning" }) with M1 revoked: a GrantWarning naming E_REVOKED. */
const WARNING_ANSWER_HEX =
  "021309a357e0dae7a37c0e09ac8ac53ba330d6000001a3185c53e8eb1c6e9c60c145de2bb693c48dbc7658";

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
/** Grant times: u32 seconds on the wire, whole seconds in ms in the API. */
const seconds = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((s) => s * 1000);
/** Two well-formed Grants of one session (random fields; not sealed under any real key). */
const grantPair = fc
  .record({
    suite: fc.constantFrom(1 as const, 2 as const),
    sessionId: bytes(8),
    issuedAt: seconds,
    expiresAt: seconds,
    n1: bytes(4),
    n2: bytes(4),
    sealed1: bytes(48),
    sealed2: bytes(48),
  })
  .map((g): SessionAnswer => ({
    kind: SessionAnswerKind.GRANT,
    toResponder: encodeGrant({ ...g, role: 2, nonceHint: g.n2, sealed: g.sealed2 }),
    toInitiator: encodeGrant({ ...g, role: 1, nonceHint: g.n1, sealed: g.sealed1 }),
  }));
/** The responder's Grant of such a pair alone: the head delivered the initiator's. */
const delivered = grantPair.map((a): SessionAnswer =>
  a.kind === SessionAnswerKind.GRANT ? { kind: SessionAnswerKind.DELIVERED, toResponder: a.toResponder } : a,
);
const warning = fc
  .record({
    reason: fc.constantFrom(
      "E_NOT_MEMBER" as const,
      "E_REVOKED" as const,
      "E_EXPIRED" as const,
      "E_BAD_MAC" as const,
    ),
    nonce: bytes(16),
    issuedAt: time,
    mac: bytes(16),
  })
  .map((w): SessionAnswer => ({ kind: SessionAnswerKind.WARNING, warning: encodeGrantWarning(w) }));

function flip(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[bit >> 3] = (c[bit >> 3] as number) ^ (1 << (bit & 7));
  return c;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return undefined;
}

describe("session answer codec", () => {
  it("has named sizes: two Grants (144 bytes), the responder's Grant alone (72 bytes) or one GrantWarning (43 bytes)", () => {
    expect(SessionAnswerSize.GRANT).toBe(144);
    expect(SessionAnswerSize.DELIVERED).toBe(72);
    expect(SessionAnswerSize.WARNING).toBe(43);
  });

  it("decodes the responder's Grant alone as a delivered answer and re-encodes it byte for byte", () => {
    const answer = decodeSessionAnswer(fromHex(VECTORS.grantToResponder as string));
    expect(answer.kind).toBe(SessionAnswerKind.DELIVERED);
    if (answer.kind !== SessionAnswerKind.DELIVERED) return;
    expect(toHex(answer.toResponder)).toBe(VECTORS.grantToResponder);
    expect(toHex(encodeSessionAnswer(answer))).toBe(VECTORS.grantToResponder);
  });

  it("decodes and re-encodes the fixed grant answer byte for byte", () => {
    const answer = decodeSessionAnswer(fromHex(GRANT_ANSWER_HEX));
    expect(answer.kind).toBe("grant");
    if (answer.kind !== "grant") return;
    expect(toHex(answer.toResponder)).toBe(VECTORS.grantToResponder);
    expect(toHex(answer.toInitiator)).toBe(VECTORS.grantToInitiator);
    expect(toHex(encodeSessionAnswer(answer))).toBe(GRANT_ANSWER_HEX);
  });

  it("decodes and re-encodes the fixed warning answer byte for byte", () => {
    const f = grantFlow({ seed: "vectors-warning" });
    const out = issueGrant({ ...f.ctx, initiator: { ...f.initiator, active: false } });
    if (out.kind !== "warning") throw new Error("expected a warning");
    expect(toHex(encodeSessionAnswer({ kind: "warning", warning: out.toResponder }))).toBe(
      WARNING_ANSWER_HEX,
    );
    const answer = decodeSessionAnswer(fromHex(WARNING_ANSWER_HEX));
    expect(answer).toEqual({ kind: "warning", warning: fromHex(WARNING_ANSWER_HEX) });
  });

  it("round-trips any well-formed grant pair, lone responder's Grant or warning", () => {
    const size = {
      grant: SessionAnswerSize.GRANT,
      delivered: SessionAnswerSize.DELIVERED,
      warning: SessionAnswerSize.WARNING,
    };
    fc.assert(
      fc.property(fc.oneof(grantPair, delivered, warning), (answer) => {
        const encoded = encodeSessionAnswer(answer);
        expect(encoded.length).toBe(size[answer.kind]);
        expect(decodeSessionAnswer(encoded)).toEqual(answer);
      }),
    );
  });

  it("throws only E_MALFORMED on arbitrary bytes, and what it accepts re-encodes identically", () => {
    const arbitrary = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // A valid header makes the decoder look further than the version byte.
      fc
        .tuple(fc.constantFrom(0x12, 0x13), fc.uint8Array({ maxLength: 200 }))
        .map(([t, rest]) => Uint8Array.of(2, t, ...rest)),
    );
    fc.assert(
      fc.property(arbitrary, (b) => {
        let answer: SessionAnswer;
        try {
          answer = decodeSessionAnswer(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          expect((e as ProtocolError).code).toBe("E_MALFORMED");
          return;
        }
        expect(toHex(encodeSessionAnswer(answer))).toBe(toHex(b));
      }),
    );
  });

  it("checks each Grant as decodeGrant does without copying it: the same bytes accepted, the same role", () => {
    const grantish = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      // A Grant's header and length, then roles and suites valid or just beside: the checks past the header.
      fc
        .tuple(
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 0, max: 4 }),
          fc.uint8Array({ minLength: MessageSize.GRANT - 4, maxLength: MessageSize.GRANT - 4 }),
        )
        .map(([role, suite, rest]) =>
          Uint8Array.of(PROTOCOL_VERSION, MessageType.GRANT, role, suite, ...rest),
        ),
    );
    let accepted = 0;
    fc.assert(
      fc.property(grantish, (b) => {
        const decoded = (() => {
          try {
            return decodeGrant(b).role;
          } catch (e) {
            return (e as ProtocolError).code;
          }
        })();
        const checked = (() => {
          try {
            return grantRoleOf(b);
          } catch (e) {
            return (e as ProtocolError).code;
          }
        })();
        expect(checked).toBe(decoded);
        if (typeof checked === "number") accepted++;
      }),
      { numRuns: 500 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it("refuses non-bytes as E_MALFORMED", () => {
    expectCode(() => decodeSessionAnswer("0112" as unknown as Uint8Array), "E_MALFORMED");
    expectCode(() => decodeSessionAnswer(undefined as unknown as Uint8Array), "E_MALFORMED");
  });

  it("refuses every truncation and every extension by one byte of the three answers (but the pair's first half)", () => {
    for (const hex of [GRANT_ANSWER_HEX, VECTORS.grantToResponder as string, WARNING_ANSWER_HEX]) {
      const full = fromHex(hex);
      for (let n = 0; n < full.length; n++) {
        // The pair's first 72 bytes are the responder's Grant: the delivered answer, tested above.
        if (hex === GRANT_ANSWER_HEX && n === SessionAnswerSize.DELIVERED) continue;
        expectCode(() => decodeSessionAnswer(full.subarray(0, n)), "E_MALFORMED");
      }
      for (const extra of [0x00, 0x01, 0xff])
        expectCode(() => decodeSessionAnswer(concatBytes(full, Uint8Array.of(extra))), "E_MALFORMED");
    }
  });

  it("refuses the initiator's Grant alone, the Grants in the wrong order, or Grants of two different sessions", () => {
    const toResponder = fromHex(VECTORS.grantToResponder as string);
    const toInitiator = fromHex(VECTORS.grantToInitiator as string);
    expectCode(() => decodeSessionAnswer(toInitiator), "E_MALFORMED");
    expectCode(() => decodeSessionAnswer(concatBytes(toInitiator, toResponder)), "E_MALFORMED");
    expectCode(() => decodeSessionAnswer(concatBytes(toResponder, toResponder)), "E_MALFORMED");
    const other = toInitiator.slice();
    other[4] = (other[4] as number) ^ 0x80; // first byte of the sessionId
    expectCode(() => decodeSessionAnswer(concatBytes(toResponder, other)), "E_MALFORMED");
    expectCode(
      () => decodeSessionAnswer(concatBytes(fromHex(WARNING_ANSWER_HEX), toResponder)),
      "E_MALFORMED",
    );
  });

  it("refuses to encode parts of the wrong size or in the wrong roles (head programming errors)", () => {
    const toResponder = fromHex(VECTORS.grantToResponder as string);
    const toInitiator = fromHex(VECTORS.grantToInitiator as string);
    expect(() =>
      encodeSessionAnswer({ kind: "grant", toResponder, toInitiator: toInitiator.subarray(1) }),
    ).toThrow(RangeError);
    expect(() => encodeSessionAnswer({ kind: "warning", warning: toResponder })).toThrow(RangeError);
    const swapped = { kind: "grant" as const, toResponder: toInitiator, toInitiator: toResponder };
    expectCode(() => encodeSessionAnswer(swapped), "E_MALFORMED");
    expectCode(() => encodeSessionAnswer({ kind: "delivered", toResponder: toInitiator }), "E_MALFORMED");
    expect(() => encodeSessionAnswer({ kind: "delivered", toResponder: toResponder.subarray(1) })).toThrow(
      RangeError,
    );
  });
});

describe("every single-bit flip of a session answer is refused", () => {
  it("grant answer: by the codec (headers and shared fields) or by the member whose Grant it hits", () => {
    const f = grantFlow({ seed: "flip-answer" });
    const issued = issueGrant(f.ctx);
    if (issued.kind !== "grant") throw new Error("expected a grant");
    const answer = encodeSessionAnswer({
      kind: "grant",
      toResponder: issued.toResponder,
      toInitiator: issued.toInitiator,
    });
    const seen = new Map<string, number>();
    for (let bit = 0; bit < answer.length * 8; bit++) {
      const byte = bit >> 3;
      const offset = byte % MessageSize.GRANT; // offset inside the Grant it hits
      const code = codeOf(() => {
        const a = decodeSessionAnswer(flip(answer, bit));
        if (a.kind !== "grant") throw new Error(`bit ${bit}: decoded as a warning`);
        // M2 opens its own Grant, then M1 the one M2 forwards: fresh pending state for each flip.
        acceptGrant(a.toResponder, f.j2.deviceMembership, [{ ...f.gr.pending, used: false }], f.now);
        acceptGrant(a.toInitiator, f.j1.deviceMembership, [{ ...f.sr.pending, used: false }], f.now);
      });
      expect(code, `bit ${bit} accepted`).toBeDefined();
      // Version, type, role, suite, sessionId and times of either Grant: the codec alone refuses.
      if (offset < 20) expect(code, `bit ${bit}`).toBe("E_MALFORMED");
      else if (offset < 24) expect(["E_UNKNOWN_NONCE"], `bit ${bit}`).toContain(code);
      else expect(["E_BAD_TAG"], `bit ${bit}`).toContain(code);
      seen.set(code as string, (seen.get(code as string) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(["E_BAD_TAG", "E_MALFORMED", "E_UNKNOWN_NONCE"]);
  });

  it("delivered answer: by the codec (header, role, suite) or by M2 opening its Grant", () => {
    const f = grantFlow({ seed: "flip-answer-delivered" });
    const issued = issueGrant(f.ctx);
    if (issued.kind !== "grant") throw new Error("expected a grant");
    const answer = encodeSessionAnswer({ kind: "delivered", toResponder: issued.toResponder });
    for (let bit = 0; bit < answer.length * 8; bit++) {
      const byte = bit >> 3;
      const code = codeOf(() => {
        const a = decodeSessionAnswer(flip(answer, bit));
        if (a.kind !== "delivered") throw new Error(`bit ${bit}: decoded as ${a.kind}`);
        acceptGrant(a.toResponder, f.j2.deviceMembership, [{ ...f.gr.pending, used: false }], f.now);
      });
      expect(code, `bit ${bit} accepted`).toBeDefined();
      // The role byte flipped to the initiator's makes it a lone initiator Grant: malformed too.
      if (byte < 4) expect(code, `bit ${bit}`).toBe("E_MALFORMED");
      else if (byte >= 20 && byte < 24) expect(code, `bit ${bit}`).toBe("E_UNKNOWN_NONCE");
      else expect(code, `bit ${bit}`).toBe("E_BAD_TAG"); // session, times (AAD), sealed key, tag
    }
  });

  it("warning answer: by the codec or by M2's check of the warning", () => {
    const f = grantFlow({ seed: "flip-answer-warning" });
    const out = issueGrant({ ...f.ctx, initiator: undefined });
    if (out.kind !== "warning") throw new Error("expected a warning");
    const answer = encodeSessionAnswer({ kind: "warning", warning: out.toResponder });
    for (let bit = 0; bit < answer.length * 8; bit++) {
      const byte = bit >> 3;
      const code = codeOf(() => {
        const a = decodeSessionAnswer(flip(answer, bit));
        if (a.kind !== "warning") throw new Error(`bit ${bit}: decoded as a grant`);
        acceptGrantWarning(a.warning, f.j2.deviceMembership, [{ ...f.gr.pending, used: false }]);
      });
      expect(code, `bit ${bit} accepted`).toBeDefined();
      // Header; reason (another registered code fails the MAC); N2; issuedAt and MAC.
      const allowed =
        byte < 2
          ? ["E_MALFORMED"]
          : byte === 2
            ? ["E_MALFORMED", "E_BAD_MAC"]
            : byte < 19
              ? ["E_UNKNOWN_NONCE"]
              : ["E_BAD_MAC", "E_MALFORMED"];
      expect(allowed, `bit ${bit}`).toContain(code);
    }
  });
});
