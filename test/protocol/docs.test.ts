/**
 * docs/protocol.md documents every error code (with its wire value) and every message type.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODE_LIST, ERROR_CODES, MessageSize, MessageType } from "../../protocol";

const doc = readFileSync(path.resolve(__dirname, "../../docs/protocol.md"), "utf8");

describe("docs/protocol.md", () => {
  it.each(ERROR_CODE_LIST)("documents %s with its wire value", (code) => {
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${ERROR_CODES[code]} \\|`));
  });

  it.each(Object.entries(MessageType))("lists message type %s", (_name, value) => {
    expect(doc).toContain(`| 0x${value.toString(16).padStart(2, "0")} |`);
  });

  it.each([
    ["JoinChallenge", MessageSize.JOIN_CHALLENGE],
    ["JoinRequest", MessageSize.JOIN_REQUEST],
    ["JoinResponse", MessageSize.JOIN_RESPONSE],
    ["SessionRequest", MessageSize.SESSION_REQUEST],
    ["GrantRequest", MessageSize.GRANT_REQUEST],
    ["Grant", MessageSize.GRANT],
    ["GrantWarning", MessageSize.GRANT_WARNING],
  ] as const)("gives the size of %s", (name, size) => {
    expect(doc).toMatch(new RegExp(`### ${name} \\(0x[0-9a-f]{2}\\), ${size} bytes`));
  });

  it.each([
    ["JoinRequest", 2, MessageSize.JOIN_REQUEST_HYBRID],
    ["JoinResponse", 3, MessageSize.JOIN_RESPONSE_HYBRID],
  ] as const)("gives the size of the hybrid %s", (name, type, size) => {
    expect(doc).toContain(`### Hybrid ${name} (0x0${type}, join suite 2), ${size} bytes`);
  });

  it("threat model exists and covers the required attackers", () => {
    const tm = readFileSync(path.resolve(__dirname, "../../docs/threat-model.md"), "utf8");
    for (const s of [
      "Dolev–Yao",
      "Curious",
      "Non-member",
      "Compromised member",
      "Stolen device key",
      "Compromised cluster head",
      "Store now, decrypt later",
      "Out of scope",
    ])
      expect(tm).toContain(s);
  });
});
