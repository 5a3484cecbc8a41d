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
  it("lets session set-up reach any current member", () => {
    expect(
      mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(A), message(MessageType.SESSION_REQUEST))),
    ).toBe(true);
    expect(mayPublishToInbox(deps, B, A, encodeEnvelope(bytes(B), message(MessageType.GRANT)))).toBe(true);
  });

  it("lets frames reach only a session peer", () => {
    expect(mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(A), message(MessageType.FRAME_I2R)))).toBe(
      true,
    );
    const noSession = { ...deps, haveSession: () => false };
    expect(mayPublishToInbox(noSession, A, B, encodeEnvelope(bytes(A), message(MessageType.FRAME_I2R)))).toBe(
      false,
    );
  });

  it("refuses a forged sender, a non-member, oneself, other message types and garbage", () => {
    expect(
      mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(B), message(MessageType.SESSION_REQUEST))),
    ).toBe(false);
    expect(
      mayPublishToInbox(deps, A, C, encodeEnvelope(bytes(A), message(MessageType.SESSION_REQUEST))),
    ).toBe(false);
    expect(
      mayPublishToInbox(deps, A, A, encodeEnvelope(bytes(A), message(MessageType.SESSION_REQUEST))),
    ).toBe(false);
    expect(mayPublishToInbox(deps, A, B, encodeEnvelope(bytes(A), message(MessageType.JOIN_REQUEST)))).toBe(
      false,
    );
    expect(mayPublishToInbox(deps, A, B, new Uint8Array(10))).toBe(false);
  });
});
