/**
 * The codes of the native bindings' load errors, which operators meet only in a log line or a
 * backend name, are documented where the operations guide lists the fallbacks.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { NativeCurveUnavailableError } from "../../platform/native-curve-backend";
import { SodiumUnavailableError } from "../../platform/sodium-symmetric-backend";

const operations = readFileSync(resolve(__dirname, "../../docs/operations.md"), "utf8");
const section = operations.slice(operations.indexOf("## Native crypto libraries and their fallbacks"));

describe("docs/operations.md § Native crypto libraries and their fallbacks", () => {
  it.each([
    ["libsecp256k1", new NativeCurveUnavailableError(new Error("x")).code],
    ["libsodium", new SodiumUnavailableError(new Error("x")).code],
  ])("lists %s with the code %s", (library, code) => {
    const line = section.split("\n").find((l) => l.startsWith(`| ${library} `));
    expect(line).toContain(`\`${code}\``);
  });
});
