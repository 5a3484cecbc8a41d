/**
 * MAC keys derived once per membership (memberMacKeys) and passed to issueGrant in the
 * MemberRecord: the grant and the warning are byte-identical to the per-grant derivation, the
 * passed keys are the ones used (wrong ones fail), and issueGrant leaves them intact for the next
 * grant. Memberships are made directly: the grant needs only K_m, kid, device ID and expiry.
 */
import { describe, expect, it } from "vitest";
import {
  createGrantRequest,
  createSessionRequest,
  decodeGrantRequest,
  type IssueGrantContext,
  issueGrant,
  type Membership,
  memberMacKeys,
  toHex,
  wipeMemberMacKeys,
} from "../../../protocol";
import { expectCode } from "../expect-code";
import { seededRandom, T0 } from "../helpers";

const CLUSTER = 7;

function membership(n: number): Membership {
  return {
    deviceId: new Uint8Array(32).fill(n),
    kid: Uint8Array.of(n, 1, 2, 3),
    memberKey: seededRandom(`member-key-${n}`)(32),
    expiresAt: T0 + 86_400_000,
  };
}

/** A GrantRequest from M2 wrapping M1's SessionRequest, and issueGrant's context for it. */
function grantContext(opts: { forgedSessionRequest?: boolean } = {}) {
  const [m1, m2] = [membership(1), membership(2)];
  const now = T0 + 1000;
  const signer = opts.forgedSessionRequest ? { ...m1, memberKey: membership(9).memberKey } : m1;
  const sr = createSessionRequest({ membership: signer, clusterId: CLUSTER, peerId: m2.deviceId, now });
  const gr = createGrantRequest({
    membership: m2,
    clusterId: CLUSTER,
    peerId: m1.deviceId,
    sessionRequest: sr.message,
    now,
  });
  const ctx = (macKeys: boolean, seed = "grant"): IssueGrantContext => ({
    request: decodeGrantRequest(gr.message),
    clusterId: CLUSTER,
    initiator: { membership: m1, active: true, macKeys: macKeys ? memberMacKeys(m1.memberKey) : undefined },
    responder: { membership: m2, active: true, macKeys: macKeys ? memberMacKeys(m2.memberKey) : undefined },
    replayed: false,
    now,
    random: seededRandom(seed),
  });
  return { m1, m2, ctx };
}

function bytesOf(outcome: ReturnType<typeof issueGrant>): string[] {
  return outcome.kind === "grant"
    ? [toHex(outcome.toInitiator), toHex(outcome.toResponder)]
    : [outcome.reason, toHex(outcome.toResponder)];
}

describe("per-membership MAC keys in issueGrant", () => {
  it("issue the same grant bytes as keys derived per grant", () => {
    const { ctx } = grantContext();
    const kept = issueGrant(ctx(true));
    expect(kept.kind).toBe("grant");
    expect(bytesOf(kept)).toEqual(bytesOf(issueGrant(ctx(false))));
  });

  it("issue the same warning bytes when M1's MAC fails", () => {
    const { ctx } = grantContext({ forgedSessionRequest: true });
    const kept = issueGrant(ctx(true));
    expect(kept.kind).toBe("warning");
    expect(kept.kind === "warning" && kept.reason).toBe("E_BAD_MAC");
    expect(bytesOf(kept)).toEqual(bytesOf(issueGrant(ctx(false))));
  });

  it("are the keys the grant checks with: M2's keys of another membership fail its MAC", () => {
    const { ctx } = grantContext();
    const c = ctx(true);
    c.responder = { ...c.responder!, macKeys: memberMacKeys(membership(9).memberKey) };
    expectCode(() => issueGrant(c), "E_BAD_MAC");
  });

  it("are the keys the grant checks with: M1's keys of another membership get M2 a warning", () => {
    const { ctx } = grantContext();
    const c = ctx(true);
    c.initiator = { ...c.initiator!, macKeys: memberMacKeys(membership(9).memberKey) };
    const outcome = issueGrant(c);
    expect(outcome.kind === "warning" && outcome.reason).toBe("E_BAD_MAC");
  });

  it("stay intact after a grant, for the next one", () => {
    const { ctx } = grantContext();
    const c = ctx(true);
    const before = [c.initiator!.macKeys!, c.responder!.macKeys!].map((k) => toHex(k.grantRequest));
    issueGrant(c);
    issueGrant({ ...c, random: seededRandom("second") });
    expect([c.initiator!.macKeys!, c.responder!.macKeys!].map((k) => toHex(k.grantRequest))).toEqual(before);
  });

  it("are unusable once wiped: a grant with wiped keys is refused", () => {
    const { ctx } = grantContext();
    const c = ctx(true);
    wipeMemberMacKeys(c.responder!.macKeys!);
    expectCode(() => issueGrant(c), "E_BAD_MAC");
  });
});
