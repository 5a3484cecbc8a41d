/**
 * The head's server-sent events read with fetch() (EventSource cannot send the bearer header),
 * parsed per the HTML standard's event-stream format: `event:` and `data:` lines, a blank line
 * ends an event, lines starting with `:` are comments (the head's heartbeats). Reconnects with
 * backoff until stopped.
 */
import type { Api } from "./api";

export interface StreamEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface EventStreamHandlers {
  onEvent(event: StreamEvent): void;
  onState(state: "connecting" | "live" | "down"): void;
}

/** Opens the stream; returns its stop. */
export function openEventStream(api: Api, handlers: EventStreamHandlers): () => void {
  const abort = new AbortController();
  let delay = 500;
  const run = async () => {
    while (!abort.signal.aborted) {
      handlers.onState("connecting");
      try {
        const response = await api.stream("/v1/events", abort.signal);
        handlers.onState("live");
        delay = 500;
        await read(response, handlers.onEvent);
      } catch (error) {
        if (abort.signal.aborted) return;
        if ((error as { status?: number }).status === 401) return;
      }
      handlers.onState("down");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  void run();
  return () => abort.abort();
}

async function read(response: Response, onEvent: (event: StreamEvent) => void): Promise<void> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseBlock(block);
      if (event) onEvent(event);
    }
  }
}

function parseBlock(block: string): StreamEvent | undefined {
  let type = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  try {
    return { type, data: JSON.parse(data.join("\n")) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}
