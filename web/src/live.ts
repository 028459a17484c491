// Live updates: the gateway's server-sent events, read with fetch so that the token travels in
// a header (EventSource cannot send one) and never in an address.
import { token } from "./auth";

export type LiveEvent = { id: string; type: string; student_id: string; time: string; data: Record<string, unknown> };
type Listener = (event: LiveEvent) => void;

const listeners = new Set<Listener>();
let running: AbortController | null = null;

export function onLive(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function startLive(): void {
  if (running) return;
  running = new AbortController();
  void loop(running.signal);
}

export function stopLive(): void {
  running?.abort();
  running = null;
}

async function loop(signal: AbortSignal): Promise<void> {
  let wait = 1000;
  while (!signal.aborted) {
    try {
      const bearer = await token();
      if (!bearer) return;
      const response = await fetch("/api/v1/events", {
        headers: { Authorization: `Bearer ${bearer}`, Accept: "text/event-stream" }, signal,
      });
      if (!response.ok || !response.body) throw new Error(String(response.status));
      document.body.dataset.live = "open";
      wait = 1000;
      await read(response.body, signal);
    } catch {
      if (signal.aborted) return;
    }
    document.body.dataset.live = "closed";
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 30_000);
  }
}

async function read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      const name = block.split("\n").find((l) => l.startsWith("event: "))?.slice(7);
      if (name === "session_expired") return; // reconnect with a renewed token
      if (data && name) {
        const event = JSON.parse(data) as LiveEvent;
        listeners.forEach((listener) => listener(event));
      }
    }
  }
}
