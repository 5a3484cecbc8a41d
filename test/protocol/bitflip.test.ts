/**
 * Every single-bit flip of every message is refused, with a typed error from the expected set.
 * Exhaustive over all bit positions of one fixed run of each flow, plus fast-check over frames
 * with random payloads and sequence numbers.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  acceptGrant,
  acceptGrantWarning,
  acceptJoin,
  createChannel,
  createGrantRequest,
  decodeGrantRequest,
  decodeJoinRequest,
  deviceTag,
  equalBytes,
  finishJoin,
  issueGrant,
  ProtocolError,
  startJoin,
} from "../../protocol";
import { everyFlip, flip } from "./flip";
import { fullSession, grantFlow } from "./grant-fixture";
import { cluster, device, head, join, seededRandom, T0 } from "./helpers";

describe("single-bit flips are refused", () => {
  // Classic layout: 0–1 header, 2 suite, 3–18 device tag, 19–34 challenge, 35–42 position,
  // 43–75 E_D, 76–139 sigD (compact).
  it("JoinRequest (head side, with the caller's look-ups keyed by the flipped fields)", () => {
    const d = device(1);
    const j = join(d);
    everyFlip(
      j.start.request,
      (i) => {
        if (i < 2) return ["E_MALFORMED"];
        if (i === 2) return ["E_MALFORMED", "E_UNSUPPORTED"];
        if (i < 19) return ["E_NOT_MEMBER"]; // device tag: the index has no such device
        if (i < 35) return ["E_UNKNOWN_CHALLENGE"];
        if (i < 43) return ["E_MALFORMED", "E_OUTSIDE_RADIUS", "E_BAD_SIGNATURE"];
        if (i === 43) return ["E_MALFORMED", "E_BAD_SIGNATURE"]; // point prefix: 02↔03 is still well-formed
        return ["E_BAD_SIGNATURE", "E_MALFORMED"]; // E_D is signed; sigD itself (incl. its recovery bit)
      },
      (m) => {
        const req = decodeJoinRequest(m);
        return acceptJoin({
          request: req,
          challenge: equalBytes(req.challenge, j.challenge.record.challenge) ? j.challenge.record : undefined,
          candidates: equalBytes(req.deviceTag, deviceTag(d.id)) ? [d.record] : [],
          cluster,
          headSecretKey: head.secretKey,
          now: T0,
          random: seededRandom("flip"),
        });
      },
    );
  });

  it("JoinResponse (device side)", () => {
    const j = join(device(1));
    const { state } = j.start;
    // Re-arm the device state for each attempt: a refused response leaves it unchanged anyway.
    state.phase = 1;
    state.ephemeralSecretKey = new Uint8Array(32).fill(1);
    everyFlip(
      j.res.response,
      (i) =>
        i < 2
          ? ["E_MALFORMED"]
          : i === 2
            ? ["E_MALFORMED", "E_UNSUPPORTED"]
            : ["E_BAD_SIGNATURE", "E_MALFORMED"],
      (m) => finishJoin(m, state, T0),
    );
  });

  it("GrantRequest (head side; look-ups by the flipped kids)", () => {
    const f = grantFlow({ seed: "flip-gr" });
    const kid1 = f.j1.headMembership.kid;
    const kid2 = f.j2.headMembership.kid;
    everyFlip(
      f.gr.message,
      (i) => {
        if (i < 2) return ["E_MALFORMED"];
        if (i < 6) return ["E_NOT_MEMBER"]; // kid2
        if (i < 38) return ["E_BAD_MAC"]; // N2, MAC2
        if (i < 40 || i === 40) return ["E_MALFORMED", "E_BAD_MAC"]; // nested header, suite
        return ["E_BAD_MAC", "E_MALFORMED"]; // M2's MAC covers the hash of M1's request
      },
      (m) => {
        const req = decodeGrantRequest(m);
        return issueGrant({
          ...f.ctx,
          request: req,
          initiator: equalBytes(req.sessionRequest.kid, kid1) ? f.initiator : undefined,
          responder: equalBytes(req.kid, kid2) ? f.responder : undefined,
        });
      },
    );
  });

  it("Grant (member side), both copies", () => {
    const f = fullSession({ seed: "flip-grant" });
    for (const [msg, membership, pending] of [
      [f.issued.toInitiator, f.j1.deviceMembership, f.sr.pending],
      [f.issued.toResponder, f.j2.deviceMembership, f.gr.pending],
    ] as const) {
      everyFlip(
        msg,
        (i) => {
          if (i < 2) return ["E_MALFORMED"];
          if (i === 2) return ["E_MALFORMED", "E_UNKNOWN_NONCE"]; // role
          if (i === 3) return ["E_MALFORMED", "E_UNSUPPORTED"]; // suite
          if (i < 20) return ["E_BAD_TAG"]; // sessionId, times (AAD; every u32 is a time)
          if (i < 24) return ["E_UNKNOWN_NONCE"]; // nonce hint
          return ["E_BAD_TAG"];
        },
        (m) => acceptGrant(m, membership, [{ ...pending, used: false }], f.now),
      );
    }
  });

  it("GrantWarning (M2 side)", () => {
    const f = grantFlow({ seed: "flip-warning" });
    const out = issueGrant({ ...f.ctx, initiator: undefined });
    if (out.kind !== "warning") throw new Error("unreachable");
    everyFlip(
      out.toResponder,
      (i) =>
        i < 2
          ? ["E_MALFORMED"]
          : i === 2
            ? ["E_MALFORMED", "E_BAD_MAC"]
            : i < 19
              ? ["E_UNKNOWN_NONCE"]
              : ["E_BAD_MAC", "E_MALFORMED"],
      (m) => acceptGrantWarning(m, f.j2.deviceMembership, [{ ...f.gr.pending, used: false }]),
    );
  });

  it("Frame: exhaustively for one frame, then fast-check over payloads and sequence numbers", () => {
    const f = fullSession({ seed: "flip-frame" });
    const a = createChannel(f.s1);
    const b = createChannel(f.s2);
    const frameCodes = (i: number) => {
      if (i === 0) return ["E_MALFORMED"];
      if (i === 1) return ["E_MALFORMED", "E_WRONG_DIRECTION"];
      if (i === 2) return ["E_MALFORMED", "E_UNSUPPORTED"];
      if (i < 7) return ["E_WRONG_SESSION"];
      if (i < 11) return ["E_MALFORMED"]; // seq ≥ 2^32
      if (i < 15) return ["E_BAD_TAG", "E_REPLAY"]; // low seq bytes may name an already-seen number
      return ["E_BAD_TAG"];
    };
    const frame = a.sender.seal(new TextEncoder().encode("hello sensor"), f.now);
    everyFlip(frame, frameCodes, (m) => b.receiver.open(m, f.now));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (pt, bitSeed) => {
        const fr = a.sender.seal(pt, f.now);
        const bit = bitSeed % (fr.length * 8);
        let err: unknown;
        try {
          b.receiver.open(flip(fr, bit), f.now);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ProtocolError);
        expect(frameCodes(bit >> 3)).toContain((err as ProtocolError).code);
        // The genuine frame still opens: the refused flip did not move the window.
        expect(b.receiver.open(fr, f.now).plaintext).toEqual(pt);
      }),
      { numRuns: 200 },
    );
  });

  it("JoinChallenge (unauthenticated by design: a flipped challenge is refused at the device or the head)", () => {
    const d = device(1);
    const j = join(d);
    for (let bit = 0; bit < j.challenge.message.length * 8; bit++) {
      let code: string | undefined;
      try {
        const start = startJoin({
          challengeMessage: flip(j.challenge.message, bit),
          clusterId: cluster.clusterId,
          headAddress: head.address,
          deviceId: d.id,
          deviceSecretKey: d.identity.secretKey,
          position: d.position,
          random: seededRandom(`cflip${bit}`),
        });
        const req = decodeJoinRequest(start.request);
        acceptJoin({
          request: req,
          challenge: equalBytes(req.challenge, j.challenge.record.challenge) ? j.challenge.record : undefined,
          candidates: [d.record],
          cluster,
          headSecretKey: head.secretKey,
          now: T0,
        });
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        code = (e as ProtocolError).code;
      }
      expect(["E_MALFORMED", "E_UNKNOWN_CHALLENGE"], `bit ${bit}`).toContain(code);
    }
  });

  it("SessionRequest (relayed by M2): refused at M2 or answered with a GrantWarning, never a grant", () => {
    const f = grantFlow({ seed: "flip-sr" });
    const kid1 = f.j1.headMembership.kid;
    const outcomes = new Map<string, number>();
    for (let bit = 0; bit < f.sr.message.length * 8; bit++) {
      let outcome: string;
      try {
        const gr = createGrantRequest({
          membership: f.j2.deviceMembership,
          clusterId: cluster.clusterId,
          peerId: f.d1.id,
          sessionRequest: flip(f.sr.message, bit),
          now: f.now,
          random: seededRandom(`srflip${bit}`),
        });
        const req = decodeGrantRequest(gr.message);
        const out = issueGrant({
          ...f.ctx,
          request: req,
          initiator: equalBytes(req.sessionRequest.kid, kid1) ? f.initiator : undefined,
        });
        expect(out.kind, `bit ${bit}`).toBe("warning");
        outcome = out.kind === "warning" ? `warning:${out.reason}` : "grant";
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        outcome = (e as ProtocolError).code;
      }
      expect(
        ["E_MALFORMED", "E_EXPIRED", "E_REFLECTION", "warning:E_NOT_MEMBER", "warning:E_BAD_MAC"],
        `bit ${bit}`,
      ).toContain(outcome);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(outcomes.get("warning:E_BAD_MAC")).toBeGreaterThan(0);
  });
});
