/** Display helpers: times, durations and long hex shortened (the full value goes in a title). */
import { h } from "./dom";

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  const d = new Date(ms);
  return Number.isNaN(d.getTime())
    ? "—"
    : d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z");
}

/** "in 23 h" / "5 min ago". */
export function relative(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return "—";
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  const text =
    abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : `${Math.round(abs / 3600)} h`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

/** A long hex string as `abcd1234…89ef` with the whole value as its title and data-full attribute. */
export function hex(value: unknown, keep = 8): HTMLElement {
  const text = String(value ?? "");
  const short = text.length > keep * 2 + 1 ? `${text.slice(0, keep)}…${text.slice(-4)}` : text;
  return h("code", { class: "hex", title: text, "data-full": text }, short);
}

/** Any value of an audit row as text. */
export function plain(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
