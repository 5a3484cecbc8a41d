/**
 * A publish still waiting for its PUBACK when the transport closes must fail with E_CLOSED, not
 * wait forever (MQTT.js drops such callbacks when it ends). The broker here is a raw TCP server
 * that accepts the CONNECT and never acknowledges a PUBLISH.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MqttTransport } from "../../../transport/mqtt";

/** CONNACK, session not present, return code 0 (MQTT 3.1.1 §3.2). */
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

describe("MqttTransport.close with a publish in flight", () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.once("data", () => socket.write(CONNACK));
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("rejects the unacknowledged publish with E_CLOSED when the close is forced", async () => {
    const transport = await MqttTransport.connect(`mqtt://127.0.0.1:${port}`, {
      clientId: "close-in-flight",
      clean: true,
      connectTimeoutMs: 2000,
    });
    const unacknowledged = transport.publish("t/1", Uint8Array.of(1, 2, 3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await transport.close(true);
    await expect(unacknowledged).rejects.toMatchObject({ code: "E_CLOSED" });
  });
});
