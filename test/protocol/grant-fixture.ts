/**
 * Two joined members (M1, M2) and one run of the grant flow.
 */
import {
  type AeadSuite,
  acceptGrant,
  createGrantRequest,
  createSessionRequest,
  decodeGrantRequest,
  type IssueGrantContext,
  issueGrant,
  type MemberRecord,
} from "../../protocol";
import { cluster, device, join, seededRandom, T0 } from "./helpers";

export function members() {
  const d1 = device(1);
  const d2 = device(2);
  const d3 = device(3);
  const j1 = join(d1);
  const j2 = join(d2);
  const j3 = join(d3);
  return { d1, d2, d3, j1, j2, j3 };
}

export function grantFlow(opts: { seed?: string; suite?: AeadSuite; now?: number } = {}) {
  const m = members();
  const now = opts.now ?? T0 + 1000;
  const random = seededRandom(opts.seed ?? "grant");
  const sr = createSessionRequest({
    membership: m.j1.deviceMembership,
    clusterId: cluster.clusterId,
    peerId: m.d2.id,
    suite: opts.suite,
    now,
    random,
  });
  const gr = createGrantRequest({
    membership: m.j2.deviceMembership,
    clusterId: cluster.clusterId,
    peerId: m.d1.id,
    sessionRequest: sr.message,
    now,
    random,
  });
  const initiator: MemberRecord = { membership: m.j1.headMembership, active: true };
  const responder: MemberRecord = { membership: m.j2.headMembership, active: true };
  const ctx: IssueGrantContext = {
    request: decodeGrantRequest(gr.message),
    clusterId: cluster.clusterId,
    initiator,
    responder,
    replayed: false,
    now,
    random,
  };
  return { ...m, now, random, sr, gr, ctx, initiator, responder };
}

export function fullSession(opts: { seed?: string; suite?: AeadSuite } = {}) {
  const f = grantFlow(opts);
  const issued = issueGrant(f.ctx);
  if (issued.kind !== "grant") throw new Error("expected a grant");
  const s1 = acceptGrant(issued.toInitiator, f.j1.deviceMembership, [f.sr.pending], f.now);
  const s2 = acceptGrant(issued.toResponder, f.j2.deviceMembership, [f.gr.pending], f.now);
  return { ...f, issued, s1, s2 };
}
