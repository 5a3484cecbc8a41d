/**
 * Device routes that carry protocol messages: join challenge, join, session grant. Bodies and
 * answers are the protocol's binary messages; refusals are JSON errors with the protocol's codes.
 */
import { Router } from "express";
import { concatBytes } from "../../../../protocol/bytes";
import type { HeadContext } from "../../context";
import { grantSession } from "../../use-cases/grant-session";
import { createJoinChallenge, joinCluster } from "../../use-cases/join";
import { PROTOCOL_MEDIA_TYPE, protocolMessage, rawProtocolBody } from "../binary-body";

export function protocolRouter(ctx: HeadContext): Router {
  const router = Router();

  router.post("/v1/join/challenge", async (_req, res) => {
    res.type(PROTOCOL_MEDIA_TYPE).send(Buffer.from(await createJoinChallenge(ctx)));
  });

  router.post("/v1/join", rawProtocolBody, async (req, res) => {
    res.type(PROTOCOL_MEDIA_TYPE).send(Buffer.from(await joinCluster(ctx, protocolMessage(req))));
  });

  // Answer: the responder's Grant followed by the initiator's (which M2 forwards to M1), or one
  // GrantWarning. Both are fixed-size messages whose type byte tells them apart.
  router.post("/v1/sessions", rawProtocolBody, async (req, res) => {
    const outcome = await grantSession(ctx, protocolMessage(req));
    const body =
      outcome.kind === "grant" ? concatBytes(outcome.toResponder, outcome.toInitiator) : outcome.toResponder;
    res.setHeader("x-iotguard-outcome", outcome.kind);
    res.type(PROTOCOL_MEDIA_TYPE).send(Buffer.from(body));
  });

  return router;
}
