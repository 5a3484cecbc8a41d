/**
 * Device routes that carry protocol messages: join challenge, join, session grant. Bodies and
 * answers are the protocol's binary messages; refusals are JSON errors with the protocol's codes.
 */
import express, { type RequestHandler, Router } from "express";
import { encodeSessionAnswer, MessageSize, SessionAnswerKind } from "../../../../protocol";
import type { HeadContext } from "../../context";
import { grantSession } from "../../use-cases/grant-session";
import { createJoinChallenge, joinCluster } from "../../use-cases/join";
import { PROTOCOL_MEDIA_TYPE, protocolMessage, rawProtocolBody } from "../binary-body";
import { noBody } from "../limits";

/**
 * The join body may be a hybrid JoinRequest (ML-KEM-768 key inside, 1342 bytes), larger than the
 * other protocol messages: its own limit is exactly that message's size.
 */
const rawJoinRequestBody = express.raw({ type: PROTOCOL_MEDIA_TYPE, limit: MessageSize.JOIN_REQUEST_HYBRID });

/** Hint header on `POST /v1/sessions` answers: `grant` or `warning` ({@link SessionAnswerKind}). */
const OUTCOME_HEADER = "x-iotguard-outcome";

/** The abuse limits in front of the join routes (./limits.ts), built once per app. */
export interface ProtocolLimits {
  /** Per-source join bucket, shared by the challenge and the join. */
  joinRate: RequestHandler;
  /** The global bound on joins being verified, after the body is read and before any ECDSA. */
  joinGate: RequestHandler;
}

/** Routes that carry protocol messages: join challenge, join, session grant. */
export function protocolRouter(ctx: HeadContext, limits: ProtocolLimits): Router {
  const router = Router();

  // The challenge route takes no body: anything sent is refused unread.
  router.post("/v1/join/challenge", limits.joinRate, noBody, async (_req, res) => {
    res.type(PROTOCOL_MEDIA_TYPE).send(Buffer.from(await createJoinChallenge(ctx)));
  });

  router.post("/v1/join", limits.joinRate, rawJoinRequestBody, limits.joinGate, async (req, res) => {
    res.type(PROTOCOL_MEDIA_TYPE).send(Buffer.from(await joinCluster(ctx, protocolMessage(req))));
  });

  // Answer: the protocol's session answer (the responder's Grant then the initiator's, which M2
  // forwards to M1, or one GrantWarning); its bytes say which. The header repeats the kind for
  // logs and tools that do not parse the body; it is not authenticated and clients need not read it.
  router.post("/v1/sessions", rawProtocolBody, async (req, res) => {
    const outcome = await grantSession(ctx, protocolMessage(req));
    const body = encodeSessionAnswer(
      outcome.kind === "grant"
        ? {
            kind: SessionAnswerKind.GRANT,
            toResponder: outcome.toResponder,
            toInitiator: outcome.toInitiator,
          }
        : { kind: SessionAnswerKind.WARNING, warning: outcome.toResponder },
    );
    res.setHeader(OUTCOME_HEADER, outcome.kind);
    res.type(PROTOCOL_MEDIA_TYPE).send(Buffer.from(body));
  });

  return router;
}
