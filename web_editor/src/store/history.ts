// Undo/redo as whole-document snapshots. Edits share every unchanged node object, so a snapshot
// costs one array of pointers; 200 of them for a 1,000-node document is well under 2 MB.
import type { FlowDocument } from "../types";

export const HISTORY_LIMIT = 200;

export interface Snapshot {
  doc: FlowDocument;
  /** The tab shown when the snapshot was taken: undo goes back to where the edit happened. */
  tab: string;
}

export interface History {
  past: Snapshot[];
  future: Snapshot[];
}

export const emptyHistory: History = { past: [], future: [] };

export function record(h: History, before: Snapshot): History {
  const past = h.past.length >= HISTORY_LIMIT ? h.past.slice(h.past.length - HISTORY_LIMIT + 1) : h.past.slice();
  past.push(before);
  return { past, future: [] };
}

export function undo(h: History, current: Snapshot): { history: History; snapshot: Snapshot } | null {
  if (!h.past.length) return null;
  const snapshot = h.past[h.past.length - 1];
  return { history: { past: h.past.slice(0, -1), future: [...h.future, current] }, snapshot };
}

export function redo(h: History, current: Snapshot): { history: History; snapshot: Snapshot } | null {
  if (!h.future.length) return null;
  const snapshot = h.future[h.future.length - 1];
  return { history: { past: [...h.past, current], future: h.future.slice(0, -1) }, snapshot };
}
