/** What every view of the page offers the shell (main.ts). */
import type { Api } from "../api";
import { h, replace } from "../dom";

export interface View {
  /** The tab's name and its URL fragment. */
  id: string;
  title: string;
  element: HTMLElement;
  /** Reloads from the API (called on showing and on live events that concern it). */
  refresh(): Promise<void>;
}

export interface ViewContext {
  api: Api;
}

/** Runs `load`, showing a failure (its code and message, as text) in `status`. */
export async function loading(status: HTMLElement, load: () => Promise<void>): Promise<void> {
  try {
    await load();
    replace(status);
  } catch (error) {
    replace(status, h("span", { class: "error", role: "alert" }, describe(error)));
  }
}

/** An error as the operator reads it: `E_CODE: message`. */
export function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  return typeof e.code === "string" ? `${e.code}: ${String(e.message)}` : String(e.message ?? error);
}

/** A table with a header row; rows are cells (strings or nodes). */
export function table(
  headers: string[],
  rows: (Node | string)[][],
  rowAttrs?: (i: number) => Record<string, string>,
): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("thead", {}, h("tr", {}, ...headers.map((name) => h("th", { scope: "col" }, name)))),
      h(
        "tbody",
        {},
        ...rows.map((cells, i) =>
          h(
            "tr",
            rowAttrs?.(i) ?? {},
            ...cells.map((cell, j) => h("td", { "data-label": headers[j] ?? "" }, cell)),
          ),
        ),
      ),
    ),
  );
}
