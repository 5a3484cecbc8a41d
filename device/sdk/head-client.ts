/**
 * REST client for the cluster head (docs/api.md): health, enrollment (operator), join, session
 * grants. Protocol messages travel as `application/octet-stream`; refusals come back as
 * `{error:{code,message}}` and become {@link DeviceError} E_HEAD_REFUSED with the head's code.
 */
import { randomInt } from "node:crypto";
import { Agent, fetch, type Response } from "undici";
import { z } from "zod";
import { decodeSessionAnswer, isProtocolError, type SessionAnswer } from "../../protocol";
import { DeviceError } from "./errors";

const OCTET = "application/octet-stream";
const TIMEOUT_MS = 15_000;

const healthSchema = z.object({
  clusterId: z.number().int(),
  headAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  broker: z.object({ url: z.string(), topicPrefix: z.string().optional() }),
});
export type HeadHealth = z.infer<typeof healthSchema>;

/** The JSON body an operator posts to `POST /v1/devices`. */
export interface EnrollmentRequest {
  deviceId: string;
  keyAddress: string;
  proof: string;
}

/** A registry transaction the head sent that its index does not hold yet (docs/api.md § Pending transactions). */
export interface PendingTransaction {
  action: "enroll" | "revoke" | "rotate";
  txHash: string;
  block: number | null;
  confirmationsLeft: number;
}

/** An operator of the head as `GET /v1/operators` lists it. */
export interface OperatorSummary {
  name: string;
  scopes: string[];
  createdAt?: number;
  createdBy?: string;
  bootstrap: boolean;
}

/** Answer of `POST /v1/sessions`: the protocol's session answer, decoded. */
export type { SessionAnswer };

/** Unauthenticated hint the head sets on session answers; the body alone decides. */
const OUTCOME_HEADER = "x-iotguard-outcome";
/** Tells the head this M2 takes an answer without M1's Grant (docs/api.md § Sessions). */
const GRANT_DELIVERY_HEADER = "x-iotguard-grant-delivery";

/** How long protocol calls keep retrying a head that answers busy or rate-limited. */
const RETRY_BUDGET_MS = 30_000;
/** A `Retry-After` longer than this is not waited for: the refusal is returned. */
const MAX_RETRY_AFTER_S = 10;

/**
 * How long to wait before retrying a 429 or 503 answer that carries `Retry-After` in seconds
 * (docs/api.md § Limits: the head refused before doing or consuming anything), plus up to a
 * second of jitter so refused devices do not all come back at once; undefined when not to retry.
 */
function retryWaitMs(res: Response): number | undefined {
  if (res.status !== 429 && res.status !== 503) return undefined;
  const header = res.headers.get("retry-after");
  if (header === null || !/^\d{1,4}$/.test(header)) return undefined;
  const seconds = Number(header);
  if (seconds > MAX_RETRY_AFTER_S) return undefined;
  return seconds * 1000 + randomInt(1000);
}

/** How the client reaches the head. */
export interface HeadClientOptions {
  /**
   * PEM of the certificate authority (or authorities) that issued the head's HTTPS certificate, or
   * the head's own self-signed certificate: the only roots trusted for this head (the system's
   * are not). Required for an `https:` head with a private CA; refused with an `http:` URL.
   */
  ca?: string | Uint8Array;
}

/** Node's codes for a server certificate that does not verify (tls.checkServerIdentity, OpenSSL). */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** One connection pool per pinned CA, shared by the clients that pin it. */
const pinnedAgents = new Map<string, Agent>();

function agentPinning(ca: string | Uint8Array): Agent {
  const pem = typeof ca === "string" ? ca : Buffer.from(ca).toString("utf8");
  let agent = pinnedAgents.get(pem);
  if (!agent) {
    agent = new Agent({ connect: { ca: pem } });
    pinnedAgents.set(pem, agent);
  }
  return agent;
}

export class HeadClient {
  readonly url: string;
  readonly #dispatcher: Agent | undefined;

  /**
   * @param url - the head's base URL (`https://…`, or `http://…` on loopback)
   * @throws DeviceError E_BAD_ARGUMENT for a URL that does not parse, or a CA with an `http:` URL
   */
  constructor(url: string, options: HeadClientOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new DeviceError("E_BAD_ARGUMENT", `head URL: not a URL (${url})`);
    }
    this.url = parsed.toString().replace(/\/$/, "");
    if (options.ca !== undefined && parsed.protocol !== "https:")
      throw new DeviceError(
        "E_BAD_ARGUMENT",
        `head URL: a CA to pin was given, but ${this.url} is not https`,
      );
    this.#dispatcher = options.ca === undefined ? undefined : agentPinning(options.ca);
  }

  async #request(
    method: string,
    path: string,
    init: { body?: Uint8Array | string; headers?: Record<string, string>; retryBusy?: boolean } = {},
  ): Promise<Response> {
    const deadline = Date.now() + RETRY_BUDGET_MS;
    let res: Response;
    for (;;) {
      try {
        res = await fetch(`${this.url}${path}`, {
          ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
          method,
          headers: init.headers ?? {},
          ...(init.body === undefined ? {} : { body: init.body }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        const cause = (error as Error).cause as (Error & { code?: string }) | undefined;
        if (cause?.code !== undefined && CERTIFICATE_ERROR.test(cause.code))
          throw new DeviceError(
            "E_HEAD_UNREACHABLE",
            `the cluster head at ${this.url} has a certificate this device does not trust (${cause.message}): pin the CA that issued it (--head-ca)`,
            { cause: error },
          );
        throw new DeviceError(
          "E_HEAD_UNREACHABLE",
          `cannot reach the cluster head at ${this.url} (${cause ? cause.message : (error as Error).message})`,
          { cause: error },
        );
      }
      const waitMs = init.retryBusy ? retryWaitMs(res) : undefined;
      if (waitMs === undefined || Date.now() + waitMs > deadline) break;
      await res.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    if (!res.ok && path !== "/health") {
      let code = `HTTP_${res.status}`;
      let message = res.statusText;
      try {
        const body = (await res.json()) as { error?: { code?: string; message?: string } };
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
      } catch {
        // not JSON: keep the status
      }
      throw new DeviceError("E_HEAD_REFUSED", `the head refused ${method} ${path}: ${code} ${message}`, {
        headCode: code,
      });
    }
    return res;
  }

  async #binary(res: Response): Promise<Uint8Array> {
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * `GET /health` (answers 200 or 503; both carry the fields the device needs). Unauthenticated:
   * its head address is only compared with the one the chain or the operator names, never trusted.
   */
  async health(): Promise<HeadHealth> {
    const res = await this.#request("GET", "/health");
    const parsed = healthSchema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success)
      throw new DeviceError("E_HEAD_UNREACHABLE", `${this.url}/health is not a cluster head`);
    return parsed.data;
  }

  /**
   * Operator: `POST /v1/devices`. The token is sent as a bearer token, never logged. With
   * `wait: false` the head answers once the transaction is mined, with `pending` (docs/api.md).
   */
  async enroll(
    request: EnrollmentRequest,
    adminToken: string,
    o: { wait?: boolean } = {},
  ): Promise<{ transactionHash: string; blockNumber: number; pending?: PendingTransaction }> {
    const res = await this.#request("POST", `/v1/devices${o.wait === false ? "?wait=false" : ""}`, {
      body: JSON.stringify(request),
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    });
    return (await res.json()) as {
      transactionHash: string;
      blockNumber: number;
      pending?: PendingTransaction;
    };
  }

  /** Operator: `POST /v1/devices/:id/revoke` (`wait: false` as for {@link enroll}). */
  async revoke(deviceIdHex: string, adminToken: string, o: { wait?: boolean } = {}): Promise<unknown> {
    const query = o.wait === false ? "?wait=false" : "";
    const res = await this.#request("POST", `/v1/devices/${deviceIdHex}/revoke${query}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    return res.json();
  }

  /** Operator (`admin` scope): `GET /v1/operators`, the operators and their scopes (never tokens). */
  async operators(adminToken: string): Promise<OperatorSummary[]> {
    const res = await this.#request("GET", "/v1/operators", {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    return ((await res.json()) as { operators: OperatorSummary[] }).operators;
  }

  /**
   * Operator (`admin` scope): `POST /v1/operators`. The answer holds the new operator's token:
   * the caller stores it and shows it nowhere.
   */
  async addOperator(
    adminToken: string,
    name: string,
    scopes: readonly string[],
  ): Promise<{ operator: OperatorSummary; token: string }> {
    const res = await this.#request("POST", "/v1/operators", {
      body: JSON.stringify({ name, scopes }),
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    });
    return (await res.json()) as { operator: OperatorSummary; token: string };
  }

  /** Operator (`admin` scope): `DELETE /v1/operators/:name`. */
  async removeOperator(adminToken: string, name: string): Promise<void> {
    await this.#request("DELETE", `/v1/operators/${encodeURIComponent(name)}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
  }

  /** `GET /v1/devices/:id`. */
  async device(deviceIdHex: string): Promise<Record<string, unknown>> {
    return (await (await this.#request("GET", `/v1/devices/${deviceIdHex}`)).json()) as Record<
      string,
      unknown
    >;
  }

  async joinChallenge(): Promise<Uint8Array> {
    return this.#binary(await this.#request("POST", "/v1/join/challenge", { retryBusy: true }));
  }

  async join(request: Uint8Array): Promise<Uint8Array> {
    return this.#binary(
      await this.#request("POST", "/v1/join", {
        body: request,
        headers: { "content-type": OCTET },
        retryBusy: true,
      }),
    );
  }

  /**
   * `POST /v1/sessions` with M2's GrantRequest, asking the head to deliver M1's Grant to M1 itself
   * (docs/protocol.md § Direct delivery of M1's Grant).
   * @returns the decoded session answer (structure checked; Grants and warning not yet opened):
   *   `delivered` (our Grant only), `grant` (ours and M1's, which we relay) or `warning`
   * @throws DeviceError E_HEAD_REFUSED with the head's code, or with `E_MALFORMED` when the answer
   *   is not a session answer or contradicts its `x-iotguard-outcome` hint
   */
  async grant(grantRequest: Uint8Array): Promise<SessionAnswer> {
    const res = await this.#request("POST", "/v1/sessions", {
      body: grantRequest,
      headers: { "content-type": OCTET, [GRANT_DELIVERY_HEADER]: "direct" },
      retryBusy: true,
    });
    const body = await this.#binary(res);
    let answer: SessionAnswer;
    try {
      answer = decodeSessionAnswer(body);
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      throw new DeviceError("E_HEAD_REFUSED", "the head's session answer is malformed", {
        headCode: error.code,
        cause: error,
      });
    }
    // The body is self-describing; a hint that contradicts it means a broken head or proxy.
    const hint = res.headers.get(OUTCOME_HEADER);
    if (hint !== null && hint !== answer.kind)
      throw new DeviceError("E_HEAD_REFUSED", "the head's session answer contradicts its outcome header", {
        headCode: "E_MALFORMED",
      });
    return answer;
  }
}
