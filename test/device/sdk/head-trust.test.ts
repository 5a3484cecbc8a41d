/** Which head and which broker the device trusts (device/sdk/head-trust.ts), on fixed inputs. */
import { describe, expect, it } from "vitest";
import { type PinnedHead, pinnedBrokerUrl, trustAnchor, trustedHead } from "../../../device/sdk/head-trust";

const HEAD = `0x${"ab".repeat(20)}`;
const OTHER = `0x${"cd".repeat(20)}`;
const health = (headAddress: string) => ({
  clusterId: 3,
  headAddress,
  broker: { url: "mqtt://127.0.0.1:1884" },
});
const pin = (source: PinnedHead["source"]): PinnedHead => ({
  headAddress: HEAD,
  clusterId: 3,
  headUrl: "http://10.0.0.5:8080",
  brokerUrl: "mqtt://10.0.0.5:1884",
  topicPrefix: "iotguard",
  source,
  pinnedAt: 1,
});

describe("pinnedBrokerUrl", () => {
  it.each([
    [
      "a loopback broker is the head's own host",
      "http://10.0.0.5:8080",
      "mqtt://127.0.0.1:1884",
      "mqtt://10.0.0.5:1884",
    ],
    ["localhost too", "http://head.example:8080", "mqtt://localhost:1884", "mqtt://head.example:1884"],
    [
      "a broker on the head's host is kept",
      "http://10.0.0.5:8080",
      "mqtts://10.0.0.5:8883",
      "mqtts://10.0.0.5:8883",
    ],
    [
      "userinfo and query are dropped",
      "http://10.0.0.5:8080",
      "wss://u:p@10.0.0.5/mqtt?t=1",
      "wss://10.0.0.5/mqtt",
    ],
  ])("%s", (_name, headUrl, reported, pinned) => {
    expect(pinnedBrokerUrl(headUrl, reported, undefined)).toBe(pinned);
  });

  it("refuses to send the credential to a host /health names but the operator did not", () => {
    expect(() => pinnedBrokerUrl("http://10.0.0.5:8080", "mqtt://evil.example:1883", undefined)).toThrow(
      expect.objectContaining({
        code: "E_NO_TRUST_ANCHOR",
        message: expect.stringContaining("--broker-url"),
      }),
    );
    expect(() => pinnedBrokerUrl("http://10.0.0.5:8080", "<not a broker URL>", undefined)).toThrow(
      expect.objectContaining({ code: "E_NO_TRUST_ANCHOR" }),
    );
  });

  it("takes the operator's broker on any host, without its userinfo", () => {
    expect(
      pinnedBrokerUrl("http://10.0.0.5:8080", "mqtt://evil.example:1883", "mqtt://me:pw@broker.example:1883"),
    ).toBe("mqtt://broker.example:1883");
  });
});

describe("trustAnchor and trustedHead without a chain", () => {
  it("a first-use pin is no anchor; a configured or chain pin is", () => {
    expect(() => trustAnchor(undefined, undefined, undefined)).toThrow(
      expect.objectContaining({ code: "E_NO_TRUST_ANCHOR" }),
    );
    expect(() => trustAnchor(undefined, undefined, pin("first-use"))).toThrow(
      expect.objectContaining({ code: "E_NO_TRUST_ANCHOR" }),
    );
    expect(trustAnchor(undefined, undefined, pin("chain")).pin?.headAddress).toBe(HEAD);
    expect(() => trustAnchor(undefined, "0x1234", undefined)).toThrow(
      expect.objectContaining({ code: "E_BAD_ARGUMENT" }),
    );
  });

  it("the operator's address wins over the pin, and /health must agree with the one chosen", async () => {
    const anchor = trustAnchor(undefined, OTHER.toUpperCase().replace("0X", "0x"), pin("chain"));
    await expect(trustedHead(anchor, "00".repeat(32), health(OTHER), "http://h", true)).resolves.toEqual({
      headAddress: OTHER,
      clusterId: 3,
      source: "configured",
    });
    await expect(trustedHead(anchor, "00".repeat(32), health(HEAD), "http://h", true)).rejects.toMatchObject({
      code: "E_HEAD_MISMATCH",
    });
    const pinned = trustAnchor(undefined, undefined, pin("configured"));
    await expect(trustedHead(pinned, "00".repeat(32), health(OTHER), "http://h", true)).rejects.toThrow(
      /replaced on chain/,
    );
  });
});
