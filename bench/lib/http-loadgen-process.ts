/**
 * The HTTP load generator's own process (started by ./http-loadgen.ts): it reads requests the bench
 * built before the clock started, waits for "go", sends them with a fixed number in flight over
 * keep-alive connections (raw HTTP/1.1 bytes, built before the clock starts too), and writes what
 * came back to a file. Nothing is built or checked while the clock runs, and it has a core of its
 * own, so the head is what is measured.
 * Messages (IPC): parent → {go}; child → {ready} | {done, file} | {failed, message}.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";

interface Job {
  url: string;
  path: string;
  concurrency: number;
  /** Length-prefixed (u32 BE) request bodies. */
  requestsFile: string;
  resultsFile: string;
  /** Keep the answers' bodies (joins: the devices finish with them after the clock). */
  keepBodies: boolean;
  /** A response header (lowercase) whose value is counted (e.g. x-iotguard-outcome). */
  countHeader?: string;
  /** More request headers, sent with every request. */
  headers?: Record<string, string>;
}

function readRequests(file: string): Buffer[] {
  const all = readFileSync(file);
  const out: Buffer[] = [];
  for (let o = 0; o < all.length;) {
    const n = all.readUInt32BE(o);
    out.push(all.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

/** One answer as the raw client read it. */
interface Answer {
  status: number;
  body: Buffer;
  /** The value of the counted header, when the job names one and the answer has it. */
  counted?: string;
}

const CRLF2 = Buffer.from("\r\n\r\n");

/**
 * A keep-alive HTTP/1.1 connection with one request in flight, written as raw bytes built before
 * the clock starts. Why not node:http's client: it costs this process about as much CPU per request
 * as a bare node:http server costs the head, so on 2 cores the generator, not the head, set the
 * ceiling. Answers must carry `content-length` (the head's always do); anything else fails the run.
 */
class RawConnection {
  readonly #socket: Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;

  private constructor(
    socket: Socket,
    private readonly countHeader: string | undefined,
  ) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
      this.#parse();
    });
    const fail = (error: Error) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.reject(error);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("the server closed the connection")));
  }

  static open(host: string, port: number, countHeader: string | undefined): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new RawConnection(socket, countHeader)));
      socket.once("error", reject);
    });
  }

  send(request: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(request);
    });
  }

  #parse(): void {
    const end = this.#buffered.indexOf(CRLF2);
    if (end === -1 || !this.#waiting) return;
    const head = this.#buffered.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    let length = -1;
    let counted: string | undefined;
    for (const line of head.split("\r\n").slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      if (name === "content-length") length = Number(line.slice(colon + 1).trim());
      else if (name === this.countHeader) counted = line.slice(colon + 1).trim();
      else if (name === "transfer-encoding") length = Number.NaN;
    }
    if (!(length >= 0)) {
      this.#socket.destroy(new Error(`an answer without content-length: ${head.split("\r\n")[0]}`));
      return;
    }
    const total = end + 4 + length;
    if (this.#buffered.length < total) return;
    const body = this.#buffered.subarray(end + 4, total);
    this.#buffered = this.#buffered.subarray(total);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting.resolve({ status, body, ...(counted !== undefined ? { counted } : {}) });
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** The request's bytes: request line, headers and body, as node:http's client sent them. */
function requestBytes(target: URL, body: Buffer, headers: Record<string, string>): Buffer {
  let head = `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: keep-alive\r\n`;
  head += `Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), body]);
}

async function run(job: Job, bodies: Buffer[]) {
  const target = new URL(job.path, job.url);
  const requests = bodies.map((body) => requestBytes(target, body, job.headers ?? {}));
  const connections = await Promise.all(
    Array.from({ length: Math.min(job.concurrency, bodies.length) }, () =>
      RawConnection.open(target.hostname, Number(target.port), job.countHeader),
    ),
  );
  const latenciesMs = new Float64Array(bodies.length);
  const statuses = new Uint16Array(bodies.length);
  const answers: (Buffer | undefined)[] = new Array(bodies.length);
  const counted: Record<string, number> = {};
  let next = 0;
  const worker = async (connection: RawConnection) => {
    while (next < requests.length) {
      const i = next++;
      const t0 = performance.now();
      const answer = await connection.send(requests[i] as Buffer);
      latenciesMs[i] = performance.now() - t0;
      statuses[i] = answer.status;
      if (job.keepBodies) answers[i] = Buffer.from(answer.body);
      if (job.countHeader) {
        const v = answer.counted ?? `status-${answer.status}`;
        counted[v] = (counted[v] ?? 0) + 1;
      }
    }
  };
  const start = performance.now();
  // The monotonic clock of the head's CPU profile is CLOCK_MONOTONIC too: the window is comparable.
  const windowUs = [Number(process.hrtime.bigint() / 1000n), 0];
  await Promise.all(connections.map(worker));
  const wallMs = performance.now() - start;
  windowUs[1] = Number(process.hrtime.bigint() / 1000n);
  for (const connection of connections) connection.close();
  return { wallMs, windowUs, latenciesMs: [...latenciesMs], statuses: [...statuses], answers, counted };
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
const bodies = readRequests(job.requestsFile);
process.on("message", (message: { go?: boolean }) => {
  if (!message.go) return;
  run(job, bodies).then(
    (result) => {
      const answers = result.answers.map((a) => (a ? a.toString("base64") : null));
      writeFileSync(job.resultsFile, JSON.stringify({ ...result, answers }));
      process.send?.({ done: true }, () => process.exit(0));
    },
    (error: Error) => process.send?.({ failed: true, message: error.message }, () => process.exit(1)),
  );
});
process.send?.({ ready: true });
