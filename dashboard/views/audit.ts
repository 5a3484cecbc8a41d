/** Warnings and refusals, and who did what: the audit log, newest first (`GET /v1/audit`). */
import { h, replace } from "../dom";
import { plain, time } from "../format";
import { loading, table, type View, type ViewContext } from "./view";

interface AuditRow {
  at: number;
  event: string;
  [field: string]: unknown;
}

/** Fields shown in their own columns; the rest go to "details". */
const WHO = ["operator", "responder", "toDeviceId", "deviceId", "name"];
const WHY = ["reason", "code"];

export function auditView({ api }: ViewContext): View {
  const status = h("div", { class: "status" });
  const onlyWarnings = h("input", { type: "checkbox", id: "audit-warnings" });
  const list = h("div", { id: "audit-list" });
  const element = h(
    "section",
    { id: "view-audit", "aria-labelledby": "h-audit" },
    h("h2", { id: "h-audit" }, "Audit"),
    h(
      "div",
      { class: "toolbar" },
      onlyWarnings,
      h("label", { for: "audit-warnings" }, "only warnings and refusals"),
    ),
    status,
    list,
  );

  const refresh = () =>
    loading(status, async () => {
      const { entries } = await api.get<{ entries: AuditRow[] }>("/v1/audit?limit=200");
      const rows = entries.filter((e) => !onlyWarnings.checked || /warning|refus/.test(String(e.event)));
      replace(
        list,
        rows.length === 0
          ? h("p", { class: "muted" }, "nothing recorded")
          : table(
              ["time", "event", "who", "why", "details"],
              rows.map((e) => {
                const who = WHO.filter((k) => e[k] !== undefined).map((k) => `${k} ${plain(e[k])}`);
                const why = WHY.filter((k) => e[k] !== undefined).map((k) => plain(e[k]));
                const rest = Object.entries(e)
                  .filter(([k]) => k !== "at" && k !== "event" && !WHO.includes(k) && !WHY.includes(k))
                  .map(([k, v]) => `${k}: ${brief(v)}`);
                return [
                  time(e.at),
                  h("span", { class: /warning|refus/.test(String(e.event)) ? "bad" : "" }, plain(e.event)),
                  who.join(", "),
                  why.join(", "),
                  h("span", { class: "details" }, rest.join(" · ")),
                ];
              }),
            ),
      );
    });
  onlyWarnings.addEventListener("change", () => void refresh());
  return { id: "audit", title: "Audit", element, refresh };
}

/** Long lists (a batch's device IDs) cut to their first three and a count. */
function brief(value: unknown): string {
  if (!Array.isArray(value) || value.length <= 3) return plain(value);
  return `${value.slice(0, 3).map(plain).join(", ")} … (${value.length} in all)`;
}
