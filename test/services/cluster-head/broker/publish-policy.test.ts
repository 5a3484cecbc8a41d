import { describe, expect, it } from "vitest";
import { MessageType, PROTOCOL_VERSION } from "../../../../protocol/constants";
import { mayPublishToInbox } from "../../../../services/cluster-head/broker/publish-policy";
import { encodeEnvelope } from "../../../../transport/mqtt/envelope";

const A = "aa".repeat(32);
const B = "bb".repeat(32);
const C = "cc".repeat(32);
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));
const message = (type: number) => Uint8Array.of(PROTOCOL_VERSION, type, 1, 2, 3);
const deps = {
  isMember: (id: string) => id !== C,
  haveSession: (a: string, b: string) => [a, b].sort().join() === [A, B].sort().join(),
};

describe("inbox publish policy", () => {
  it("refuses session set-up straight into another's inbox, with or without a session: it goes through the head", () => {
    for (const type of [MessageType.SESSION_REQUEST, MessageType.GRANT]) {
      expect(mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(A), message(type)))).toBe(false);
      expect(mayPublishToInbox(deps, B, A, encodeEnvelope(bytes(B), message(type)))).toBe(false);
    }
  });

  it("lets frames reach only a session peer", () => {
    expect(mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(A), message(MessageType.FRAME_I2R)))).toBe(
      true,
    );
    expect(mayPublishToInbox(deps, B, A, encodeEnvelope(bytes(B), message(MessageType.FRAME_R2I)))).toBe(
      true,
    );
    const noSession = { ...deps, haveSession: () => false };
    expect(mayPublishToInbox(noSession, A, B, encodeEnvelope(bytes(A), message(MessageType.FRAME_I2R)))).toBe(
      false,
    );
    // A session with someone else does not open B's inbox.
    const D = "dd".repeat(32);
    expect(mayPublishToInbox(deps, D, B, encodeEnvelope(bytes(D), message(MessageType.FRAME_I2R)))).toBe(
      false,
    );
  });

  it("refuses a forged sender, a non-member, oneself, other message types and garbage", () => {
    expect(mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(B), message(MessageType.FRAME_I2R)))).toBe(
      false,
    );
    const everyoneShares = { ...deps, haveSession: () => true };
    expect(
      mayPublishToInbox(everyoneShares, A, C, encodeEnvelope(bytes(A), message(MessageType.FRAME_I2R))),
    ).toBe(false);
    expect(
      mayPublishToInbox(everyoneShares, A, A, encodeEnvelope(bytes(A), message(MessageType.FRAME_I2R))),
    ).toBe(false);
    expect(mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(A), message(MessageType.JOIN_REQUEST)))).toBe(
      false,
    );
    expect(mayPublishToInbox(deps, A, B, new Uint8Array(10))).toBe(false);
  });
});
