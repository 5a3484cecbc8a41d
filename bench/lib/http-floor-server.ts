/**
 * The transport floor of the `grant` suite: a bare node:http server that reads each POST body and
 * answers a constant of the size of M2's grant answer, with the headers the head's protocol
 * endpoint sets, and does nothing else. Driven by the same load generator as the head, it shows
 * the most any head on node:http can serve on this machine, and what the HTTP transport alone
 * costs the server per request. `node --import tsx bench/lib/http-floor-server.ts <answer bytes>`
 * prints `listening <port>` on stdout.
 * @module
 */
import { createServer } from "node:http";

const answer = Buffer.alloc(Number(process.argv[2] ?? 72), 0x5a);

const server = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.setHeader("x-iotguard-outcome", "grant");
    res.setHeader("content-type", "application/octet-stream");
    res.setHeader("content-length", answer.length);
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("no address");
  process.stdout.write(`listening ${address.port}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
