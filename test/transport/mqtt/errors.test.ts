/** Every MqttTransportError code is documented (docs/mqtt.md § Errors) and nothing else is. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { MQTT_TRANSPORT_ERROR_CODES } from "../../../transport/mqtt/errors";

describe("MQTT transport error codes", () => {
  it("documents every code in the errors table of docs/mqtt.md, and only those", () => {
    const doc = readFileSync(resolve(__dirname, "../../../docs/mqtt.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Errors"), doc.indexOf("\n## ", doc.indexOf("## Errors") + 1));
    const documented = [...section.matchAll(/^\| `(E_[A-Z_]+)` +\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(MQTT_TRANSPORT_ERROR_CODES).sort());
  });
});
