/**
 * Write batching on a real TCP connection: what one read calls for, written in separate ticks as
 * mqtt.js writes its acknowledgements, is held until the turn ends and then sent whole.
 */
import { createConnection, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { batchWritesPerRead, holdWritesForThisTurn } from "../../../transport/mqtt/write-batching";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A connected pair: `server` (the broker's side) and `client`. */
async function pair(): Promise<{ server: Socket; client: Socket }> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once("connection", resolve));
  const client = createConnection({ port: (listener.address() as { port: number }).port, host: "127.0.0.1" });
  client.setNoDelay(true);
  await new Promise<void>((resolve) => client.once("connect", resolve));
  const server = await accepted;
  cleanup.push(() => {
    client.destroy();
    server.destroy();
    listener.close();
  });
  return { server, client };
}

describe("write batching", () => {
  it("holds the answers to one read, written tick by tick, until the turn ends, then sends them all", async () => {
    const { server, client } = await pair();
    batchWritesPerRead(client);
    /** Per read: its length, and the socket's state once all its answers were written. */
    const held: { read: number; corked: number; buffered: number }[] = [];
    client.on("data", (chunk: Buffer) => {
      // One answer per byte read, each in its own tick (as mqtt.js handles one packet per tick).
      const answer = (i: number) => {
        if (i === chunk.length) {
          held.push({ read: chunk.length, corked: client.writableCorked, buffered: client.writableLength });
          return;
        }
        client.write(Buffer.from([chunk[i]!]));
        process.nextTick(answer, i + 1);
      };
      answer(0);
    });
    const received: Buffer[] = [];
    server.on("data", (b: Buffer) => received.push(b));
    server.write(Buffer.from(Array.from({ length: 50 }, (_, i) => i)));
    await new Promise<void>((resolve) => {
      const check = () => (Buffer.concat(received).length >= 50 ? resolve() : setTimeout(check, 5));
      check();
    });
    // While the turn lasted nothing left: every answer of the first read was still held.
    expect(held[0]).toEqual({ read: held[0]!.read, corked: 1, buffered: held[0]!.read });
    expect(Buffer.concat(received)).toEqual(Buffer.from(Array.from({ length: 50 }, (_, i) => i)));
    expect(client.writableCorked).toBe(0);
  });

  it("holdWritesForThisTurn holds once per turn however often it is called, and lets go at the turn's end", async () => {
    const { client } = await pair();
    holdWritesForThisTurn(client);
    holdWritesForThisTurn(client);
    client.write("a");
    client.write("b");
    expect([client.writableCorked, client.writableLength]).toEqual([1, 2]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.writableCorked).toBe(0);
  });
});
