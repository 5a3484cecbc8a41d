/**
 * Head notices: short control messages from the cluster head to one member (a peer was revoked,
 * your membership ended), MAC'ed under that member's K_m so nobody else, the broker included,
 * can forge or redirect them. A notice is advisory: the member stops using sessions with the
 * subject; it never grants anything.
 * @module
 */
import { openMessage } from "./bytes";
import { beginMessage, type Writer } from "./writer";
import { Size } from "./constants";
import { mac, verifyMac } from "./crypto/mac";
import { ProtocolError } from "./errors";
import { macKey } from "./grant/keys";
import { assertClusterId } from "./identity";
import type { Membership } from "./membership";

/** Message type of a HeadNotice (0x30–0x3f: control). */
export const HEAD_NOTICE_TYPE = 0x30;
/** Domain label of the notice MAC. */
export const HEAD_NOTICE_LABEL = "iotguard/v1/mac/head-notice";
/** version 1 + type 1 + kind 1 + subject 32 + issuedAt 8 + mac 16. */
export const HEAD_NOTICE_SIZE = 2 + 1 + Size.DEVICE_ID + Size.TIME + Size.MAC;

/** What a notice says about its subject. */
export const NoticeKind = {
  /** The subject (a peer) was revoked or re-keyed: end every session with it. */
  PEER_ENDED: 1,
  /** The recipient's own membership ended (key rotation): join again. */
  MEMBERSHIP_ENDED: 2,
} as const;
export type NoticeKind = (typeof NoticeKind)[keyof typeof NoticeKind];

export interface HeadNotice {
  kind: NoticeKind;
  /** 32-byte device ID the notice is about. */
  subject: Uint8Array;
  /** Unix ms. */
  issuedAt: number;
}

function body(n: HeadNotice): Writer {
  return beginMessage(HEAD_NOTICE_TYPE)
    .u8(n.kind)
    .bytes(n.subject, Size.DEVICE_ID, "subject")
    .u64(n.issuedAt);
}

function macInput(clusterId: number, recipient: Uint8Array, n: HeadNotice): Uint8Array {
  return body(n).u32(assertClusterId(clusterId)).bytes(recipient, Size.DEVICE_ID, "recipient").finish();
}

/** Head: a notice for `recipient`, authenticated under its member key. */
export function sealHeadNotice(clusterId: number, recipient: Membership, notice: HeadNotice): Uint8Array {
  const key = macKey(recipient.memberKey, HEAD_NOTICE_LABEL);
  const tag = mac(key, HEAD_NOTICE_LABEL, macInput(clusterId, recipient.deviceId, notice));
  key.fill(0);
  return body(notice).bytes(tag).finish();
}

/**
 * Member: decodes and authenticates a notice addressed to it.
 * @throws ProtocolError E_MALFORMED (length, version, type, kind), E_BAD_MAC
 */
export function openHeadNotice(clusterId: number, self: Membership, message: Uint8Array): HeadNotice {
  const r = openMessage(message, HEAD_NOTICE_TYPE, HEAD_NOTICE_SIZE);
  const kind = r.u8();
  if (kind !== NoticeKind.PEER_ENDED && kind !== NoticeKind.MEMBERSHIP_ENDED)
    throw new ProtocolError("E_MALFORMED", "unknown notice kind");
  const notice: HeadNotice = { kind, subject: r.bytes(Size.DEVICE_ID), issuedAt: r.time() };
  const tag = r.bytes(Size.MAC);
  r.end();
  const key = macKey(self.memberKey, HEAD_NOTICE_LABEL);
  try {
    verifyMac(key, HEAD_NOTICE_LABEL, macInput(clusterId, self.deviceId, notice), tag);
  } finally {
    key.fill(0);
  }
  return notice;
}
