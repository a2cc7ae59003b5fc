// The /api/v1/events websocket: reconnects with exponential backoff and hands frames over in
// batches (at most every 50 ms), so a chatty flow costs one store update per batch, not per frame.
import type { EventFrame } from "./types";

export interface EventStreamHandlers {
  onFrames(frames: EventFrame[]): void;
  /** The socket is (re)connected: a good moment to refresh state that frames may have missed. */
  onOpen(): void;
  onClose(): void;
  /** Frames were dropped because too many piled up between two batches (`count` of them). */
  onDropped?(count: number): void;
}

const FLUSH_MS = 50;
/** At most this many frames wait for a batch; older ones are dropped (and counted). */
export const MAX_PENDING = 2000;
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

export function eventsUrl(): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/v1/events`;
}

/** Starts the stream; the returned function stops it for good. */
export function connectEvents(handlers: EventStreamHandlers): () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let backoff = MIN_BACKOFF_MS;
  let retryTimer: number | undefined;
  let flushTimer: number | undefined;
  let pending: EventFrame[] = [];
  let dropped = 0;

  // Keep the newest MAX_PENDING frames. Timers of a background tab are throttled, so a chatty
  // flow could otherwise pile up frames without limit before the next batch.
  const trim = () => {
    if (pending.length <= MAX_PENDING) return;
    dropped += pending.length - MAX_PENDING;
    pending = pending.slice(pending.length - MAX_PENDING);
  };

  const flush = () => {
    flushTimer = undefined;
    trim();
    const frames = pending;
    const lost = dropped;
    pending = [];
    dropped = 0;
    if (frames.length) handlers.onFrames(frames);
    if (lost) handlers.onDropped?.(lost);
  };

  const open = () => {
    if (stopped) return;
    const ws = new WebSocket(eventsUrl());
    socket = ws;
    ws.onopen = () => {
      backoff = MIN_BACKOFF_MS;
      handlers.onOpen();
    };
    ws.onmessage = (ev: MessageEvent) => {
      try {
        const frame = JSON.parse(String(ev.data)) as EventFrame;
        if (frame.type === "ping") return;
        pending.push(frame);
        if (pending.length >= 2 * MAX_PENDING) trim(); // trimmed in steps: O(1) per frame
        if (flushTimer === undefined) flushTimer = window.setTimeout(flush, FLUSH_MS);
      } catch {
        // A frame that is not JSON is a server bug; dropping it keeps the stream alive.
      }
    };
    ws.onclose = () => {
      socket = null;
      handlers.onClose();
      if (stopped) return;
      retryTimer = window.setTimeout(open, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    };
  };

  open();
  return () => {
    stopped = true;
    window.clearTimeout(retryTimer);
    window.clearTimeout(flushTimer);
    socket?.close();
  };
}
