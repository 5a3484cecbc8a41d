/**
 * `GET /v1/events` (scope read): the cluster's live feed (../event-feed.ts) as server-sent events.
 * The dashboard reads it with fetch() and a bearer header (EventSource cannot send one). At most
 * {@link MAX_EVENT_CLIENTS} streams are open at once (past that: `E_HEAD_BUSY`); each gets a
 * comment line every {@link HEARTBEAT_MS} so proxies keep it open and a dead peer is noticed, and a
 * client that stops reading is dropped once {@link MAX_BUFFERED_BYTES} wait for it.
 */
import { Router } from "express";
import type { HeadContext } from "../../context";
import { HeadError } from "../../errors";
import { EventFeed } from "../event-feed";
import { requireScope } from "../operator-auth";

export const MAX_EVENT_CLIENTS = 16;
export const HEARTBEAT_MS = 15_000;
const MAX_BUFFERED_BYTES = 1 << 20;

export function eventsRouter(ctx: HeadContext): Router {
  const router = Router();
  const feed = new EventFeed(ctx);

  router.get("/v1/events", requireScope(ctx, "read"), (req, res) => {
    if (feed.size >= MAX_EVENT_CLIENTS) {
      res.setHeader("retry-after", "5");
      throw new HeadError("E_HEAD_BUSY", `at most ${MAX_EVENT_CLIENTS} event streams are open at once`);
    }
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-accel-buffering": "no",
    });
    res.write(`: iotguard events\n\nevent: ready\ndata: {"at":${ctx.now()}}\n\n`);
    const send = (chunk: string) => {
      if (res.writableLength > MAX_BUFFERED_BYTES) return void res.destroy();
      res.write(chunk);
    };
    // JSON.stringify never emits a raw newline, so one `data:` line holds the whole event.
    const unsubscribe = feed.subscribe((event) =>
      send(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
    );
    const heartbeat = setInterval(() => send(`: heartbeat ${ctx.now()}\n\n`), HEARTBEAT_MS);
    heartbeat.unref();
    req.socket.setTimeout(0);
    res.once("close", () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  return router;
}
