/** Broker URLs with credentials: redacted for display, split for connecting (transport/mqtt/broker-url.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBrokerUrl, redactBrokerUrl, UNPARSEABLE_BROKER_URL } from "../../../transport/mqtt/broker-url";

describe("redactBrokerUrl", () => {
  it.each([
    ["mqtt://user:secret@127.0.0.1:1883", "mqtt://127.0.0.1:1883"],
    ["mqtt://:secret@broker.example:1883", "mqtt://broker.example:1883"],
    ["mqtt://user@broker.example", "mqtt://broker.example"],
    ["mqtts://us%40er:p%3Ass@broker.example:8883/", "mqtts://broker.example:8883/"],
    ["wss://u:p@broker.example/mqtt?token=abc#frag", "wss://broker.example/mqtt"],
    ["mqtt://user:se cret@h:1", "mqtt://h:1"],
    ["mqtt://[::1]:1883", "mqtt://[::1]:1883"],
    ["mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"],
  ])("shows %s as %s", (url, shown) => {
    expect(redactBrokerUrl(url)).toBe(shown);
  });

  it.each([
    "user:secret@host:1883",
    "http://user:secret@host",
    "not a url secret",
    "mqtt://user:secret@",
    "",
  ])("shows a placeholder, not a fragment, for %j", (input) => {
    expect(redactBrokerUrl(input)).toBe(UNPARSEABLE_BROKER_URL);
  });

  it("never shows the user name or password, whatever they are", () => {
    const part = fc
      .string({ minLength: 6, maxLength: 24 })
      .filter((s) => !"mqtt://broker.example:1883".includes(s));
    fc.assert(
      fc.property(part, part, (user, password) => {
        const url = `mqtt://${encodeURIComponent(user)}:${encodeURIComponent(password)}@broker.example:1883`;
        const shown = redactBrokerUrl(url);
        expect(shown).toBe("mqtt://broker.example:1883");
      }),
    );
  });
});

describe("parseBrokerUrl", () => {
  it("separates the percent-decoded credentials from the URL it keeps (path and query too)", () => {
    expect(parseBrokerUrl("mqtt://us%40er:p%3Ass%2F@127.0.0.1:1883")).toEqual({
      url: "mqtt://127.0.0.1:1883",
      username: "us@er",
      password: "p:ss/",
    });
    expect(parseBrokerUrl("wss://u:p@broker.example/mqtt?x=1")).toEqual({
      url: "wss://broker.example/mqtt?x=1",
      username: "u",
      password: "p",
    });
    expect(parseBrokerUrl("mqtt://:only-password@h:1")).toEqual({
      url: "mqtt://h:1",
      password: "only-password",
    });
    expect(parseBrokerUrl("mqtt://h:1")).toEqual({ url: "mqtt://h:1" });
  });

  it("round-trips any user name and password", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (user, password) => {
        const parsed = parseBrokerUrl(
          `mqtt://${encodeURIComponent(user)}:${encodeURIComponent(password)}@h:1883`,
        );
        expect(parsed).toEqual({ url: "mqtt://h:1883", username: user, password });
      }),
    );
  });

  it("refuses what is not a broker URL with E_BAD_ARGUMENT, without repeating it", () => {
    for (const input of ["http://user:secret@host", "user:secret@host:1883", "secret"]) {
      let caught: unknown;
      try {
        parseBrokerUrl(input);
      } catch (error) {
        caught = error;
      }
      expect(caught).toMatchObject({ code: "E_BAD_ARGUMENT" });
      expect((caught as Error).message).not.toContain("secret");
    }
  });
});
