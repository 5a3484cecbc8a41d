/**
 * REST client for the cluster head (docs/api.md): health, enrollment (operator), join, session
 * grants. Protocol messages travel as `application/octet-stream`; refusals come back as
 * `{error:{code,message}}` and become {@link DeviceError} E_HEAD_REFUSED with the head's code.
 */
import { z } from "zod";
import { MessageSize, MessageType } from "../../protocol/constants";
import { peekType } from "../../protocol/bytes";
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

/** Answer of `POST /v1/sessions`. */
export type SessionAnswer =
  | { kind: "grant"; toResponder: Uint8Array; toInitiator: Uint8Array }
  | { kind: "warning"; warning: Uint8Array };

export class HeadClient {
  readonly url: string;

  constructor(url: string) {
    try {
      this.url = new URL(url).toString().replace(/\/$/, "");
    } catch {
      throw new DeviceError("E_BAD_ARGUMENT", `head URL: not a URL (${url})`);
    }
  }

  async #request(method: string, path: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: init.headers ?? {},
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new DeviceError(
        "E_HEAD_UNREACHABLE",
        `cannot reach the cluster head at ${this.url} (${(error as Error).cause ? ((error as Error).cause as Error).message : (error as Error).message})`,
        { cause: error },
      );
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
    if (!parsed.success) throw new DeviceError("E_HEAD_UNREACHABLE", `${this.url}/health is not a cluster head`);
    return parsed.data;
  }

  /** Operator: `POST /v1/devices`. The token is sent as a bearer token, never logged. */
  async enroll(request: EnrollmentRequest, adminToken: string): Promise<{ transactionHash: string; blockNumber: number }> {
    const res = await this.#request("POST", "/v1/devices", {
      body: JSON.stringify(request),
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    });
    return (await res.json()) as { transactionHash: string; blockNumber: number };
  }

  /** Operator: `POST /v1/devices/:id/revoke`. */
  async revoke(deviceIdHex: string, adminToken: string): Promise<unknown> {
    const res = await this.#request("POST", `/v1/devices/${deviceIdHex}/revoke`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    return res.json();
  }

  /** `GET /v1/devices/:id`. */
  async device(deviceIdHex: string): Promise<Record<string, unknown>> {
    return (await (await this.#request("GET", `/v1/devices/${deviceIdHex}`)).json()) as Record<string, unknown>;
  }

  async joinChallenge(): Promise<Uint8Array> {
    return this.#binary(await this.#request("POST", "/v1/join/challenge"));
  }

  async join(request: Uint8Array): Promise<Uint8Array> {
    return this.#binary(
      await this.#request("POST", "/v1/join", { body: request, headers: { "content-type": OCTET } }),
    );
  }

  /** `POST /v1/sessions` with M2's GrantRequest. */
  async grant(grantRequest: Uint8Array): Promise<SessionAnswer> {
    const res = await this.#request("POST", "/v1/sessions", {
      body: grantRequest,
      headers: { "content-type": OCTET },
    });
    const body = await this.#binary(res);
    const outcome = res.headers.get("x-iotguard-outcome");
    if (outcome === "grant" && body.length === 2 * MessageSize.GRANT) {
      return {
        kind: "grant",
        toResponder: body.slice(0, MessageSize.GRANT),
        toInitiator: body.slice(MessageSize.GRANT),
      };
    }
    if (outcome === "warning" && body.length === MessageSize.GRANT_WARNING && peekType(body) === MessageType.GRANT_WARNING)
      return { kind: "warning", warning: body };
    throw new DeviceError("E_HEAD_REFUSED", "the head's session answer is malformed", { headCode: "E_MALFORMED" });
  }
}
