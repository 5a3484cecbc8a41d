/**
 * The operator dashboard: its static page at `/dashboard/` (../dashboard-assets.ts) under a strict
 * Content-Security-Policy (scripts and styles from this origin only, nothing inline, no framing),
 * and `GET /v1/cluster` (scope read), the cluster at a glance the page's first view shows. The
 * page holds the operator token in memory and calls the same REST API as the CLI.
 */
import { type Response, Router } from "express";
import { toHex } from "../../../../protocol";
import { redactBrokerUrl } from "../../../../transport/mqtt";
import type { HeadContext } from "../../context";
import { countClusterDevices } from "../../use-cases/list-devices";
import { dashboardFiles } from "../dashboard-assets";
import { requireScope } from "../operator-auth";
import type { BrokerStatus } from "./operations";

/** The page's policy: nothing but this origin's own files, no inline code, no framing, no forms posting away. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

function sendAsset(res: Response, name: string): void {
  const file = dashboardFiles().get(name);
  if (!file) {
    res.status(404).end();
    return;
  }
  res.set({
    "content-type": file.type,
    "content-security-policy": DASHBOARD_CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-cache",
  });
  res.send(file.body);
}

/** An RPC URL as the dashboard may show it: scheme, host and port only (paths and userinfo often hold API keys). */
export function chainUrlForDisplay(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(unparseable URL)";
  }
}

export function dashboardRouter(ctx: HeadContext, brokerStatus: () => BrokerStatus): Router {
  const router = Router();

  // Express matches "/dashboard" with and without the trailing slash; the page's relative
  // asset URLs need the slash.
  router.get("/dashboard", (req, res) => {
    if (req.path.endsWith("/")) sendAsset(res, "index.html");
    else res.redirect(301, "/dashboard/");
  });
  router.get("/dashboard/:file", (req, res) => sendAsset(res, req.params.file));

  router.get("/v1/cluster", requireScope(ctx, "read"), async (_req, res) => {
    const cluster = await ctx.index.getCluster(ctx.config.clusterId);
    const broker = brokerStatus();
    const now = ctx.now();
    res.json({
      clusterId: ctx.config.clusterId,
      headAddress: `0x${toHex(ctx.identity.address)}`,
      centre: cluster ? { latitude: cluster.latitude, longitude: cluster.longitude } : null,
      radius: cluster?.radius ?? null,
      chain: { url: chainUrlForDisplay(ctx.config.rpcUrl), ...ctx.follower.status() },
      broker: { ...broker, url: redactBrokerUrl(broker.url), topicPrefix: ctx.config.topicPrefix },
      devices: await countClusterDevices(ctx),
      members: ctx.members.size,
      liveSessions: ctx.sessions.live(now).length,
    });
  });

  return router;
}
