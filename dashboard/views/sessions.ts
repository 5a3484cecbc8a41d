/** Live sessions (who with whom, suite, expiry; `GET /v1/sessions`) and current members (`GET /v1/members`). */
import { h, replace } from "../dom";
import { hex, relative, time } from "../format";
import { loading, table, type View, type ViewContext } from "./view";

interface SessionRow {
  sessionId: string;
  initiator: string;
  responder: string;
  suite: number;
  issuedAt: number;
  expiresAt: number;
  endedAt?: number;
  endReason?: string;
  live: boolean;
}

interface MemberRow {
  deviceId: string;
  joinedAt: number;
  expiresAt: number;
  current: boolean;
}

export function sessionsView({ api }: ViewContext): View {
  const status = h("div", { class: "status" });
  const showEnded = h("input", { type: "checkbox", id: "sessions-ended" });
  const sessions = h("div", { id: "session-list" });
  const members = h("div", { id: "member-list" });
  const element = h(
    "section",
    { id: "view-sessions", "aria-labelledby": "h-sessions" },
    h("h2", { id: "h-sessions" }, "Sessions"),
    h(
      "div",
      { class: "toolbar" },
      showEnded,
      h("label", { for: "sessions-ended" }, "also show ended and expired sessions"),
    ),
    status,
    sessions,
    h("h3", {}, "Members"),
    members,
  );

  const refresh = () =>
    loading(status, async () => {
      const [s, m] = await Promise.all([
        api.get<{ sessions: SessionRow[] }>("/v1/sessions"),
        api.get<{ members: MemberRow[] }>("/v1/members"),
      ]);
      const now = Date.now();
      const rows = s.sessions
        .filter((x) => showEnded.checked || x.live)
        .sort((a, b) => b.issuedAt - a.issuedAt);
      replace(
        sessions,
        rows.length === 0
          ? h("p", { class: "muted" }, "no live session")
          : table(
              ["session", "initiator", "responder", "suite", "issued", "expires", "state"],
              rows.map((x) => [
                hex(x.sessionId),
                hex(x.initiator),
                hex(x.responder),
                String(x.suite),
                h("span", { title: time(x.issuedAt) }, relative(x.issuedAt, now)),
                h("span", { title: time(x.expiresAt) }, relative(x.expiresAt, now)),
                x.live
                  ? h("span", { class: "ok" }, "live")
                  : h("span", { class: "muted" }, x.endReason ? `ended: ${x.endReason}` : "expired"),
              ]),
              (i) => ({ "data-session": rows[i]!.sessionId }),
            ),
      );
      replace(
        members,
        m.members.length === 0
          ? h("p", { class: "muted" }, "no member")
          : table(
              ["device", "joined", "member until"],
              m.members.map((x) => [
                hex(x.deviceId),
                h("span", { title: time(x.joinedAt) }, relative(x.joinedAt, now)),
                h("span", { title: time(x.expiresAt) }, relative(x.expiresAt, now)),
              ]),
              (i) => ({ "data-device": m.members[i]!.deviceId }),
            ),
      );
    });
  showEnded.addEventListener("change", () => void refresh());
  return { id: "sessions", title: "Sessions", element, refresh };
}
