/** The cluster at a glance: head, centre and radius, chain and index, broker, counts (`GET /v1/cluster`). */
import { h, replace } from "../dom";
import { hex } from "../format";
import { loading, type View, type ViewContext } from "./view";

interface ClusterSummary {
  clusterId: number;
  headAddress: string;
  centre: { latitude: number; longitude: number } | null;
  radius: number | null;
  chain: {
    url: string;
    state: string;
    indexedBlock?: number;
    chainHead?: number;
    lagBlocks?: number;
    haltReason?: string;
  };
  broker: { up: boolean; url: string; embedded: boolean; topicPrefix: string };
  devices: { enrolled: number; active: number; revoked: number };
  members: number;
  liveSessions: number;
}

/** Micro-degrees as degrees. */
const degrees = (micro: number) => `${(micro / 1e6).toFixed(6)}°`;

export function clusterView({ api }: ViewContext): View {
  const status = h("div", { class: "status" });
  const body = h("div", { class: "cards" });
  const element = h(
    "section",
    { id: "view-cluster", "aria-labelledby": "h-cluster" },
    h("h2", { id: "h-cluster" }, "Cluster"),
    status,
    body,
  );

  const card = (title: string, ...rows: [string, Node | string][]) =>
    h(
      "article",
      { class: "card" },
      h("h3", {}, title),
      h("dl", {}, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    );
  const state = (ok: boolean, text: string) => h("span", { class: ok ? "ok" : "bad" }, text);

  return {
    id: "cluster",
    title: "Cluster",
    element,
    refresh: () =>
      loading(status, async () => {
        const c = await api.get<ClusterSummary>("/v1/cluster");
        replace(
          body,
          card(
            "Head",
            ["cluster", String(c.clusterId)],
            ["head address", hex(c.headAddress, 10)],
            ["centre", c.centre ? `${degrees(c.centre.latitude)}, ${degrees(c.centre.longitude)}` : "—"],
            ["radius", c.radius === null ? "—" : `${degrees(c.radius)} (${c.radius} µ°)`],
          ),
          card(
            "Chain",
            ["RPC", c.chain.url],
            ["state", state(c.chain.state === "live", c.chain.state)],
            ["indexed block", String(c.chain.indexedBlock ?? "—")],
            ["chain head", String(c.chain.chainHead ?? "—")],
            ["lag", c.chain.lagBlocks === undefined ? "—" : `${c.chain.lagBlocks} blocks`],
            ...(c.chain.haltReason ? ([["halted", c.chain.haltReason]] as [string, string][]) : []),
          ),
          card(
            "Broker",
            ["state", state(c.broker.up, c.broker.up ? "up" : "down")],
            ["kind", c.broker.embedded ? "embedded (aedes)" : "external"],
            ["URL", c.broker.url],
            ["topic prefix", c.broker.topicPrefix],
          ),
          card(
            "Fleet",
            ["enrolled", String(c.devices.enrolled)],
            ["active", String(c.devices.active)],
            ["revoked", String(c.devices.revoked)],
            ["members now", String(c.members)],
            ["live sessions", String(c.liveSessions)],
          ),
        );
      }),
  };
}
