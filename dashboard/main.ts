/**
 * The iotguard operator dashboard (docs/dashboard.md): sign-in with an operator token held in
 * memory for this tab only, then one view per tab, kept live by the head's event stream.
 */
import { type Api, apiClient, checkToken } from "./api";
import { h, replace } from "./dom";
import { openEventStream, type StreamEvent } from "./event-stream";
import { activityView } from "./views/activity";
import { auditView } from "./views/audit";
import { clusterView } from "./views/cluster";
import { devicesView } from "./views/devices";
import { metricsView, SAMPLE_MS } from "./views/metrics";
import { readingsView } from "./views/readings";
import { sessionsView } from "./views/sessions";
import { describe, type View } from "./views/view";

/** Which views an event makes stale. */
const STALE: Record<string, string[]> = {
  "device-enrolled": ["cluster", "devices"],
  "device-revoked": ["cluster", "devices", "sessions", "audit"],
  "device-key-rotated": ["cluster", "devices", "sessions", "audit"],
  "member-joined": ["cluster", "devices", "sessions"],
  "membership-ended": ["cluster", "devices", "sessions"],
  "session-granted": ["cluster", "sessions"],
  "grant-warning": ["audit"],
};

const root = document.getElementById("app")!;

function signIn(message?: string): void {
  const token = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const error = h("p", { class: "field-error", id: "token-error", role: "alert" }, message ?? "");
  token.setAttribute("aria-describedby", error.id);
  const form = h(
    "form",
    { id: "sign-in", class: "panel sign-in", method: "post", novalidate: true },
    h("h1", {}, "iotguard"),
    h(
      "p",
      { class: "muted" },
      "Operator dashboard of this cluster head. The token stays in this tab's memory only.",
    ),
    h("div", { class: "field" }, h("label", { for: "token" }, "Operator token"), token, error),
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = token.value;
    token.value = "";
    replace(error, "checking…");
    checkToken(value).then(
      () => start(value),
      (e: unknown) => replace(error, describe(e)),
    );
  });
  replace(root, h("main", { class: "center" }, form));
  token.focus();
}

function start(token: string): void {
  let stopped = false;
  const stops: (() => void)[] = [];
  const signOut = (message?: string) => {
    if (stopped) return;
    stopped = true;
    for (const stop of stops) stop();
    signIn(message);
  };
  const api: Api = apiClient(token, () => signOut("E_UNAUTHORIZED: the head no longer accepts this token"));
  const metrics = metricsView();
  const activity = activityView();
  const views: View[] = [
    clusterView({ api }),
    devicesView({ api }),
    sessionsView({ api }),
    auditView({ api }),
    metrics,
    activity,
    readingsView({ api }),
  ];
  const live = h("span", { id: "live-state", class: "live connecting", role: "status" }, "connecting");
  const nav = h(
    "nav",
    { "aria-label": "views" },
    ...views.map((v) => h("a", { href: `#${v.id}`, id: `tab-${v.id}`, "data-view": v.id }, v.title)),
  );
  const signOutButton = h("button", { type: "button", class: "secondary small", id: "sign-out" }, "Sign out");
  signOutButton.addEventListener("click", () => signOut());
  const content = h("main", { id: "content" });
  replace(root, h("header", {}, h("h1", {}, "iotguard"), live, signOutButton), nav, content);

  let current: View = views[0]!;
  const show = () => {
    const id = location.hash.slice(1);
    current = views.find((v) => v.id === id) ?? views[0]!;
    for (const link of nav.querySelectorAll("a"))
      link.setAttribute("aria-current", String(link.dataset.view === current.id));
    replace(content, current.element);
    void current.refresh();
  };
  window.addEventListener("hashchange", show);
  // Clicking the tab already shown reloads it.
  nav.addEventListener("click", (event) => {
    if ((event.target as HTMLElement).dataset.view === current.id) void current.refresh();
  });
  stops.push(() => window.removeEventListener("hashchange", show));
  show();

  // Live: mark views stale on events, refresh the visible one at most every 250 ms.
  const stale = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onEvent = (event: StreamEvent) => {
    activity.add(event);
    for (const id of STALE[event.type] ?? []) stale.add(id);
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (stale.delete(current.id)) void current.refresh();
    }, 250);
  };
  // A view left stale while hidden reloads when shown (show() always refreshes).
  stops.push(
    openEventStream(api, {
      onEvent,
      onState: (state) => {
        live.className = `live ${state}`;
        replace(live, state);
      },
    }),
  );
  const sampler = setInterval(() => void metrics.sample(), SAMPLE_MS);
  stops.push(() => clearInterval(sampler));
  void metrics.sample();
}

signIn();
