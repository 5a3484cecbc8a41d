/** Plaintext MQTT only to this machine unless allowed (transport/mqtt/broker-url.ts). */
import { describe, expect, it } from "vitest";
import {
  assertBrokerUrlConfidential,
  isLoopbackBrokerHost,
  isTlsBrokerUrl,
} from "../../../transport/mqtt/broker-url";

const refuse = { allowPlaintext: false, allowSetting: "--allow-plain-mqtt" };

describe("assertBrokerUrlConfidential", () => {
  it.each([
    "mqtt://127.0.0.1:1883",
    "mqtt://127.8.9.10:1884",
    "mqtt://localhost:1883",
    "mqtt://[::1]:1883",
    "ws://localhost:8080/mqtt",
    "mqtts://10.1.2.3:8883",
    "mqtts://broker.example",
    "wss://broker.example/mqtt",
    "tls://10.1.2.3:8883",
  ])("allows %s (loopback or TLS)", (url) => {
    expect(() => assertBrokerUrlConfidential(url, refuse)).not.toThrow();
  });

  it.each([
    "mqtt://10.1.2.3:1883",
    "mqtt://broker.example:1883",
    "tcp://192.168.1.2:1883",
    "ws://broker.example/mqtt",
    "mqtt://[2001:db8::1]:1883",
    "mqtt://0.0.0.0:1883",
  ])("refuses plaintext %s, naming the setting and why", (url) => {
    expect(() => assertBrokerUrlConfidential(url, refuse)).toThrow(
      expect.objectContaining({ code: "E_PLAINTEXT_BROKER" }),
    );
    expect(() => assertBrokerUrlConfidential(url, refuse)).toThrow(
      /the broker credential and every topic name would cross the network in clear; .*--allow-plain-mqtt/,
    );
  });

  it("allows plaintext anywhere when the setting says so", () => {
    expect(() =>
      assertBrokerUrlConfidential("mqtt://10.1.2.3:1883", { ...refuse, allowPlaintext: true }),
    ).not.toThrow();
  });

  it("never repeats the URL's password", () => {
    expect(() => assertBrokerUrlConfidential("mqtt://head:s3cret-pw@10.1.2.3:1883", refuse)).toThrow(
      /^mqtt:\/\/10\.1\.2\.3:1883 is plaintext MQTT/,
    );
    try {
      assertBrokerUrlConfidential("mqtt://head:s3cret-pw@10.1.2.3:1883", refuse);
    } catch (error) {
      expect((error as Error).message).not.toContain("s3cret-pw");
    }
  });

  it("refuses what is not a broker URL as a bad argument", () => {
    expect(() => assertBrokerUrlConfidential("http://10.1.2.3", refuse)).toThrow(
      expect.objectContaining({ code: "E_BAD_ARGUMENT" }),
    );
  });
});

describe("isLoopbackBrokerHost and isTlsBrokerUrl", () => {
  it("tells loopback hosts from the rest", () => {
    expect(["127.0.0.1", "localhost", "[::1]", "::ffff:127.0.0.1"].map(isLoopbackBrokerHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(
      ["10.0.0.1", "128.0.0.1", "localhost.example", "::2", "0.0.0.0"].map(isLoopbackBrokerHost),
    ).toEqual([false, false, false, false, false]);
  });

  it("tells TLS schemes from plaintext ones", () => {
    expect(["mqtts://h", "ssl://h", "tls://h", "wss://h"].map(isTlsBrokerUrl)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(["mqtt://h", "tcp://h", "ws://h", "nonsense"].map(isTlsBrokerUrl)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
