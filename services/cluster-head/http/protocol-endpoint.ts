/**
 * The protocol routes (join challenge, join, session grant) on bare node:http, in front of the
 * Express app on the same server: a trivial Express 5 route costs several times the server CPU of
 * node:http, and these are the routes devices call at line rate. The endpoint takes `POST` (and
 * `OPTIONS`) on its paths and hands every other request to Express unchanged. What a client sees
 * is what the Express routes answered: the same limits in the same order (API bucket, join
 * bucket, body, join gate, media type), the same error JSON and status per code, the same
 * `x-request-id`, `Retry-After` and `x-iotguard-outcome` headers, the same metrics and logs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HeadContext } from "../context";
import { HeadError } from "../errors";
import { PROTOCOL_MEDIA_TYPE, protocolMessage, readProtocolBody } from "./binary-body";
import { writeError } from "./error-handler";
import { announcesBody, type EdgeLimits, type LimitRefusal, sourceOf } from "./limits";
import { trackRequest } from "./request-context";
import { OUTCOME_HEADER, PROTOCOL_ROUTES, type ProtocolRoute } from "./routes/protocol";

/** A request listener that serves the request and says so, or leaves it untouched and says not. */
export type Endpoint = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The message handed to a route that takes no body. */
const NO_MESSAGE = new Uint8Array(0);

/** The routes by lowercase path. */
const ROUTES = new Map(PROTOCOL_ROUTES.map((route) => [route.path, route]));

/**
 * The protocol route a request target names, matched as Express matched it: the path before any
 * query, case-insensitively, with one optional trailing slash, without percent-decoding.
 */
function routeOf(url: string | undefined): ProtocolRoute | undefined {
  // The common case first: the path exactly as the routes name it.
  const exact = url === undefined ? undefined : ROUTES.get(url);
  if (exact) return exact;
  if (url === undefined || url.charCodeAt(0) !== 0x2f /* "/" */) return undefined;
  const query = url.indexOf("?");
  let path = query === -1 ? url : url.slice(0, query);
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return ROUTES.get(path.toLowerCase());
}

/** Sets a refusal's `Retry-After` and throws its error. */
function refuse(res: ServerResponse, refusal: LimitRefusal): never {
  if (refusal.retryAfter) res.setHeader("retry-after", refusal.retryAfter);
  throw refusal.error;
}

/**
 * Builds the endpoint.
 * @param ctx - the head: the use cases' context, its logger and metrics
 * @param limits - the edge limits, the same instances the Express app uses
 */
export function protocolEndpoint(ctx: HeadContext, limits: EdgeLimits): Endpoint {
  const { logger, metrics } = ctx;

  async function serve(route: ProtocolRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Until the API bucket lets it through, a request counts as unmatched, as Express counted it.
    const scope = trackRequest(req, res, logger, metrics);
    try {
      const source = sourceOf(req);
      const overApi = limits.api(source);
      if (overApi) refuse(res, overApi);
      scope.route = route.path;
      if (route.joinRate) {
        const overJoin = limits.join(source);
        if (overJoin) refuse(res, overJoin);
      }
      let message: Uint8Array = NO_MESSAGE;
      if (route.bodyLimit === undefined) {
        if (announcesBody(req.headers)) throw new HeadError("E_VALIDATION", "this route takes no body");
      } else {
        const body = await readProtocolBody(req, route.bodyLimit);
        if (route.joinGate) {
          const slot = limits.joinGate.enter();
          if (typeof slot !== "function") refuse(res, slot);
          // Each is emitted at most once and `slot` is idempotent: `on` spares `once`'s wrappers.
          res.on("finish", slot);
          res.on("close", slot);
        }
        message = protocolMessage(body);
      }
      const answer = await route.answer(ctx, message, req.headers);
      if (answer.outcome !== undefined) res.setHeader(OUTCOME_HEADER, answer.outcome);
      res.setHeader("content-type", PROTOCOL_MEDIA_TYPE);
      res.setHeader("content-length", answer.message.length);
      res.end(answer.message);
    } catch (error) {
      writeError(res, error, scope.log(), metrics);
    }
  }

  return (req, res) => {
    const route = req.method === "POST" || req.method === "OPTIONS" ? routeOf(req.url) : undefined;
    if (!route) return false;
    if (req.method === "OPTIONS") return options(route, req, res);
    serve(route, req, res).catch((error: unknown) => {
      logger.error({ err: error }, "protocol endpoint failed");
      res.destroy();
    });
    return true;
  };

  /**
   * `OPTIONS` on a join path answers `Allow: POST` as Express's router did; on `/v1/sessions`,
   * whose `GET` is an operator route, Express answers for both.
   */
  function options(route: ProtocolRoute, req: IncomingMessage, res: ServerResponse): boolean {
    if (route.path === "/v1/sessions") return false;
    const scope = trackRequest(req, res, logger, metrics);
    const overApi = limits.api(sourceOf(req));
    if (overApi) {
      if (overApi.retryAfter) res.setHeader("retry-after", overApi.retryAfter);
      writeError(res, overApi.error, scope.log(), metrics);
      return true;
    }
    res.setHeader("allow", "POST");
    res.setHeader("content-length", 4);
    res.setHeader("content-type", "text/plain");
    res.setHeader("x-content-type-options", "nosniff");
    res.end("POST");
    return true;
  }
}
