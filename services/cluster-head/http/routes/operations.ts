/** Operations routes: health, Prometheus metrics, and operator listings (`read` scope) of members and sessions. */
import { Router } from "express";
import { toHex } from "../../../../protocol";
import { redactBrokerUrl } from "../../../../transport/mqtt";
import type { HeadContext } from "../../context";
import { walletStatus } from "../../use-cases/head-wallet";
import { requireScope } from "../operator-auth";

export interface BrokerStatus {
  up: boolean;
  url: string;
  embedded: boolean;
  /** Who enforces access: the embedded broker, the head through Mosquitto's dynamic security, or nobody. */
  access?: "embedded" | "dynsec" | "none";
  /** Dynamic security: the admin connection, and when the last reconciliation ran and what it changed. */
  admin?: { connected: boolean; reconciled: { at: number; added: number; removed: number } | undefined };
}

export function operationsRouter(ctx: HeadContext, brokerStatus: () => BrokerStatus): Router {
  const router = Router();
  const operator = requireScope(ctx, "read");

  router.get("/health", async (_req, res) => {
    const index = ctx.follower.status();
    let chainReachable = true;
    try {
      await Promise.race([
        ctx.registry.runner?.provider?.getBlockNumber(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 2000).unref()),
      ]);
    } catch {
      chainReachable = false;
    }
    // What the head's key can still pay for (docs/operations.md § Monitoring); informative only.
    const wallet = chainReachable ? await walletStatus(ctx).catch(() => undefined) : undefined;
    const broker = brokerStatus();
    const healthy = chainReachable && index.state === "live" && broker.up;
    ctx.metrics.indexLag.set(index.lagBlocks ?? 0);
    res.status(healthy ? 200 : 503).json({
      status: healthy ? "ok" : "degraded",
      clusterId: ctx.config.clusterId,
      headAddress: `0x${toHex(ctx.identity.address)}`,
      chain: { reachable: chainReachable, ...index },
      // Unauthenticated route: the broker URL may carry the head's broker credential (userinfo).
      broker: { ...broker, url: redactBrokerUrl(broker.url), topicPrefix: ctx.config.topicPrefix },
      members: ctx.members.size,
      ...(wallet ? { wallet } : {}),
    });
  });

  router.get("/metrics", async (_req, res) => {
    const index = ctx.follower.status();
    ctx.metrics.indexLag.set(index.lagBlocks ?? 0);
    ctx.metrics.indexedBlock.set(index.indexedBlock ?? 0);
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  router.get("/v1/members", operator, (_req, res) => {
    const now = ctx.now();
    res.json({
      members: ctx.members.list().map((m) => ({
        deviceId: m.deviceId,
        joinedAt: m.joinedAt,
        expiresAt: m.expiresAt,
        current: m.expiresAt > now,
      })),
    });
  });

  router.get("/v1/sessions", operator, (_req, res) => {
    const now = ctx.now();
    res.json({
      sessions: ctx.sessions
        .list()
        .map((s) => ({ ...s, live: s.endedAt === undefined && s.expiresAt > now })),
    });
  });

  return router;
}
