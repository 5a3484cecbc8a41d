/**
 * A bare aedes broker (no authentication, no ACL) in its own process, for the m2m and telemetry
 * suites: `node --import tsx bench/brokers/aedes-broker.ts` prints `listening <port>` on stdout.
 * @module
 */
import { createServer } from "node:net";

async function main(): Promise<void> {
  const { Aedes } = await import("aedes");
  const broker = await Aedes.createBroker();
  // As the head's embedded broker does (services/cluster-head/broker/embedded-broker.ts): without
  // it, small packets to a subscriber wait on Nagle's algorithm and delayed ACKs.
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (typeof address !== "object" || !address) throw new Error("no address");
    process.stdout.write(`listening ${address.port}\n`);
  });
  const stop = () => server.close(() => broker.close(() => process.exit(0)));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
