import { describe, expect, it } from "vitest";
import {
  clusterFilter,
  ctlTopic,
  deviceSubscriptions,
  headInTopic,
  inboxTopic,
  isValidTopicFilter,
  parseTopic,
  setupTopic,
  setupTopicFilter,
  TopicArgumentError,
  warnTopic,
} from "../../../transport/mqtt/topics";

const ID = "ab".repeat(32);

describe("topic layout", () => {
  it("builds the documented topics (fixed vectors)", () => {
    expect(inboxTopic("iotguard", 7, ID)).toBe(`iotguard/c/7/d/${ID}/inbox`);
    expect(warnTopic("iotguard", 7, ID)).toBe(`iotguard/c/7/d/${ID}/warn`);
    expect(ctlTopic("iotguard", 7, ID)).toBe(`iotguard/c/7/d/${ID}/ctl`);
    expect(headInTopic("iotguard", 4294967295)).toBe("iotguard/c/4294967295/head/in");
    expect(clusterFilter("org/site", 0)).toBe("org/site/c/0/#");
    expect(deviceSubscriptions("iotguard", 7, ID)).toEqual(
      ["inbox", "warn", "ctl"].map((c) => `iotguard/c/7/d/${ID}/${c}`),
    );
  });

  it("builds a device's set-up topic and the head's filter over all of them, outside the device's subscriptions", () => {
    expect(setupTopic("iotguard", 7, ID)).toBe(`iotguard/c/7/d/${ID}/setup`);
    expect(setupTopicFilter("org/site", 0)).toBe("org/site/c/0/d/+/setup");
    expect(deviceSubscriptions("iotguard", 7, ID)).not.toContain(setupTopic("iotguard", 7, ID));
  });

  it.each([
    ["uppercase hex", () => inboxTopic("p", 1, ID.toUpperCase())],
    ["short id", () => inboxTopic("p", 1, ID.slice(2))],
    ["negative cluster", () => headInTopic("p", -1)],
    ["cluster above uint32", () => headInTopic("p", 2 ** 32)],
    ["fractional cluster", () => headInTopic("p", 1.5)],
    ["wildcard prefix", () => headInTopic("p/#", 1)],
    ["plus prefix", () => headInTopic("a/+", 1)],
    ["$ prefix", () => headInTopic("$SYS", 1)],
    ["empty prefix", () => headInTopic("", 1)],
    ["empty prefix level", () => headInTopic("a//b", 1)],
    ["set-up topic with uppercase hex", () => setupTopic("p", 1, ID.toUpperCase())],
    ["set-up topic with a short id", () => setupTopic("p", 1, ID.slice(2))],
    ["set-up topic of a bad cluster", () => setupTopic("p", -1, ID)],
    ["set-up filter with a wildcard prefix", () => setupTopicFilter("p/+", 1)],
  ])("refuses a bad argument: %s", (_name, build) => {
    expect(build).toThrow(TopicArgumentError);
  });
});

describe("parseTopic", () => {
  it("round-trips every builder", () => {
    expect(parseTopic("iotguard", inboxTopic("iotguard", 7, ID))).toEqual({
      kind: "device",
      channel: "inbox",
      clusterId: 7,
      deviceId: ID,
    });
    expect(parseTopic("iotguard", warnTopic("iotguard", 7, ID))).toEqual({
      kind: "device",
      channel: "warn",
      clusterId: 7,
      deviceId: ID,
    });
    expect(parseTopic("iotguard", ctlTopic("iotguard", 7, ID))).toEqual({
      kind: "device",
      channel: "ctl",
      clusterId: 7,
      deviceId: ID,
    });
    expect(parseTopic("org/site", headInTopic("org/site", 4294967295))).toEqual({
      kind: "head-in",
      clusterId: 4294967295,
    });
  });

  it("parses a set-up topic as its own kind, never as a device channel", () => {
    expect(parseTopic("iotguard", setupTopic("iotguard", 7, ID))).toEqual({
      kind: "setup",
      clusterId: 7,
      deviceId: ID,
    });
    expect(parseTopic("org/site", setupTopic("org/site", 4294967295, ID))).toEqual({
      kind: "setup",
      clusterId: 4294967295,
      deviceId: ID,
    });
  });

  it.each([
    `iotguard/c/7/d/${ID}/+`,
    `iotguard/c/7/d/+/inbox`,
    `iotguard/c/7/#`,
    `iotguard/c/+/head/in`,
    `iotguard/c/7/d/${ID}/inbox/`,
    `iotguard/c/7/d/${ID}//inbox`,
    `iotguard//c/7/head/in`,
    `iotguard/c/7/d/${ID.toUpperCase()}/inbox`,
    `iotguard/c/7/d/${ID}ab/inbox`,
    `iotguard/c/7/d/${ID.slice(1)}/inbox`,
    `iotguard/c/07/head/in`,
    `iotguard/c/-1/head/in`,
    `iotguard/c/4294967296/head/in`,
    `iotguard/c/1e3/head/in`,
    `iotguard/c/7/head/out`,
    `iotguard/c/7/head/in/x`,
    `iotguard/c/7/d/${ID}/secret`,
    `iotguard/c/7/d/${ID}`,
    `iotguard/x/7/head/in`,
    `other/c/7/head/in`,
    `iotguardx/c/7/head/in`,
    `iotguard/c/7/head/in\u0000`,
    `$SYS/c/7/head/in`,
    `iotguard/c/7/d/+/setup`,
    `iotguard/c/7/d/${ID}/setup/`,
    `iotguard/c/7/d/${ID}/setup/x`,
    `iotguard/c/7/d/${ID.toUpperCase()}/setup`,
    `iotguard/c/7/d/${ID.slice(2)}/setup`,
    `iotguard/c/07/d/${ID}/setup`,
    `iotguard/c/7/d/${ID}/Setup`,
    `iotguard/c/7/d/${ID}/setup\u0000`,
    `iotguard/c/7/head/setup`,
    `iotguard/c/7/setup`,
    "",
  ])("rejects %j", (topic) => {
    expect(parseTopic("iotguard", topic)).toBeUndefined();
  });
});

describe("isValidTopicFilter", () => {
  it("accepts MQTT 3.1.1 filters and rejects malformed ones", () => {
    for (const f of ["a/b", "a/+/c", "a/#", "#", "+", "a/+/#"]) expect(isValidTopicFilter(f), f).toBe(true);
    for (const f of ["", "a/b#", "a/#/c", "a+/b", "a/\u0000"]) expect(isValidTopicFilter(f), f).toBe(false);
  });
});
