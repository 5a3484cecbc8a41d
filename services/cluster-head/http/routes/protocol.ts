/**
 * Device routes that carry protocol messages: join challenge, join, session grant. Bodies and
 * answers are the protocol's binary messages; refusals are JSON errors with the protocol's codes.
 * Served on bare node:http by ../protocol-endpoint.ts, in front of the Express app: each route here
 * says which limits it passes and what it answers.
 */
import type { IncomingHttpHeaders } from "node:http";
import {
  encodeSessionAnswer,
  MessageSize,
  type SessionAnswer,
  SessionAnswerKind,
} from "../../../../protocol";
import type { HeadContext } from "../../context";
import { grantSession } from "../../use-cases/grant-session";
import { createJoinChallenge, joinCluster } from "../../use-cases/join";
import { MAX_PROTOCOL_MESSAGE_BYTES } from "../binary-body";

/**
 * Hint header on `POST /v1/sessions` answers: `delivered`, `grant` or `warning`
 * ({@link SessionAnswerKind}).
 */
export const OUTCOME_HEADER = "x-iotguard-outcome";
/**
 * Request header on `POST /v1/sessions` by which M2 says it takes an answer without M1's Grant:
 * value {@link DIRECT_DELIVERY}, and the head delivers M1's Grant itself when it can
 * (docs/protocol.md § Direct delivery of M1's Grant). Without it the answer is the relayed pair.
 */
export const GRANT_DELIVERY_HEADER = "x-iotguard-grant-delivery";
/** The one value of {@link GRANT_DELIVERY_HEADER} the head acts on. */
export const DIRECT_DELIVERY = "direct";

/** A protocol route's answer: the message, and the `x-iotguard-outcome` hint where there is one. */
export interface ProtocolAnswer {
  message: Uint8Array;
  outcome?: string;
}

/** One `POST` route carrying protocol messages, and the limits in front of it, in order. */
export interface ProtocolRoute {
  /** The path (also the route label in the request metrics). */
  path: string;
  /** Takes one more token, from the source's join bucket, after the API bucket. */
  joinRate: boolean;
  /** The body limit in bytes; undefined for a route that takes no body (announcing one is refused unread). */
  bodyLimit?: number;
  /** Holds a slot of the concurrent-join gate from after the body is read until the answer is sent. */
  joinGate: boolean;
  /** Answers the message (the empty message on a route without a body); `headers` are the request's. */
  answer(ctx: HeadContext, message: Uint8Array, headers: IncomingHttpHeaders): Promise<ProtocolAnswer>;
}

/** The protocol routes, by path. */
export const PROTOCOL_ROUTES: readonly ProtocolRoute[] = [
  {
    path: "/v1/join/challenge",
    joinRate: true,
    joinGate: false,
    answer: async (ctx) => ({ message: await createJoinChallenge(ctx) }),
  },
  {
    path: "/v1/join",
    joinRate: true,
    // The join body may be a hybrid JoinRequest (ML-KEM-768 key inside, 1325 bytes), larger than
    // the other protocol messages: its own limit is exactly that message's size.
    bodyLimit: MessageSize.JOIN_REQUEST_HYBRID,
    joinGate: true,
    answer: async (ctx, message) => ({ message: await joinCluster(ctx, message) }),
  },
  {
    path: "/v1/sessions",
    joinRate: false,
    bodyLimit: MAX_PROTOCOL_MESSAGE_BYTES,
    joinGate: false,
    // Answer: the protocol's session answer (the responder's Grant alone when the head delivered
    // the initiator's, both when M2 must forward it, or one GrantWarning); its bytes say which. The
    // header repeats the kind for logs and tools that do not parse the body; it is not
    // authenticated and clients need not read it.
    answer: async (ctx, message, headers) => {
      const outcome = await grantSession(ctx, message, {
        deliverToInitiator: headers[GRANT_DELIVERY_HEADER] === DIRECT_DELIVERY,
      });
      const answer: SessionAnswer =
        outcome.kind === "warning"
          ? { kind: SessionAnswerKind.WARNING, warning: outcome.toResponder }
          : outcome.delivered
            ? { kind: SessionAnswerKind.DELIVERED, toResponder: outcome.toResponder }
            : {
                kind: SessionAnswerKind.GRANT,
                toResponder: outcome.toResponder,
                toInitiator: outcome.toInitiator,
              };
      return { message: encodeSessionAnswer(answer), outcome: answer.kind };
    },
  },
];
