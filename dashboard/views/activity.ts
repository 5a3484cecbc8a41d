/** The live feed as it arrives (`GET /v1/events`): the newest {@link KEEP} events, newest first. */
import { h } from "../dom";
import { plain, time } from "../format";
import type { StreamEvent } from "../event-stream";
import type { View } from "./view";

const KEEP = 200;

export function activityView(): View & { add(event: StreamEvent): void } {
  const list = h("ol", { id: "activity-list", class: "activity", reversed: true });
  const element = h(
    "section",
    { id: "view-activity", "aria-labelledby": "h-activity" },
    h("h2", { id: "h-activity" }, "Live"),
    h("p", { class: "muted" }, "Enrollments, joins, grants, warnings and revocations as the head sees them."),
    list,
  );
  return {
    id: "activity",
    title: "Live",
    element,
    refresh: async () => undefined,
    add(event) {
      const { at, type: _type, ...fields } = event.data;
      const item = h(
        "li",
        { "data-event": event.type, class: /warning|revoked|ended/.test(event.type) ? "bad" : "" },
        h("time", {}, time(typeof at === "number" ? at : Date.now())),
        " ",
        h("strong", {}, event.type),
        " ",
        Object.entries(fields)
          .map(([k, v]) => `${k}: ${plain(v)}`)
          .join(" · "),
      );
      list.prepend(item);
      while (list.children.length > KEEP) list.lastElementChild?.remove();
    },
  };
}
