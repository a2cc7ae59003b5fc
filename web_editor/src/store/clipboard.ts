// Copy, cut and paste of canvas nodes. The clipboard holds Node-RED JSON (a flows.json array), so
// what is copied here pastes into Node-RED and the other way round.
import { droppedKeysNote, mergeImport, newId, parseJsonSafely } from "../io/importExport";
import type { FlowDocument, FlowNode } from "../types";
import { byId, isConfigNode, isOnCanvas, wouldNestItself } from "./docIndex";
import { deleteNodes, expandDeletion } from "./docOps";
import { commit, getState, toast, type XY } from "./editorStore";

let internal: FlowDocument = [];
let pasteCount = 0;

/** The selected canvas nodes (groups with their members) in document order. */
export function copySelection(): FlowDocument {
  const s = getState();
  const ids = expandDeletion(s.doc, [...s.selection]);
  const nodes = s.doc.filter((n) => ids.has(n.id) && isOnCanvas(n));
  if (nodes.length) {
    internal = nodes;
    pasteCount = 0;
  }
  return nodes;
}

export function cutSelection(): FlowDocument {
  const nodes = copySelection();
  if (nodes.length) commit(deleteNodes(getState().doc, nodes.map((n) => n.id)), { selection: [] });
  return nodes;
}

export function internalClipboard(): FlowDocument {
  return internal;
}

/**
 * Pastes nodes onto the current tab with fresh ids. `at` places the top-left of the pasted
 * nodes (the mouse position); without it a repeated paste steps 20 px down and right.
 * A clipboard carrying tabs or subflow definitions goes through the import merge instead.
 */
export function pasteNodes(nodes: FlowDocument, at: XY | null): void {
  const s = getState();
  if (!nodes.length || !s.activeTab) return;
  if (nodes.some((n) => n.type === "tab" || n.type === "subflow")) {
    const merged = mergeImport(s.doc, nodes, { target: "current-tab", currentTabId: s.activeTab, palette: s.palette });
    commit(merged.doc, { tab: merged.tabId, selection: merged.addedIds });
    return;
  }
  // A subflow cannot contain itself (the palette refuses that too): such instances are left out.
  const selfNested = nodes.filter((n) => n.type.startsWith("subflow:") && isOnCanvas(n)
    && wouldNestItself(s.doc, s.activeTab, n.type.slice(8)));
  if (selfNested.length) {
    toast(`A subflow cannot contain itself: ${selfNested.length} instance${selfNested.length === 1 ? " was" : "s were"} not pasted`,
      "error", 5000);
    nodes = nodes.filter((n) => !selfNested.includes(n));
    if (!nodes.some(isOnCanvas)) return;
  }
  const existing = byId(s.doc);
  const ids = new Map<string, string>();
  for (const n of nodes) if (isOnCanvas(n)) ids.set(n.id, newId());
  const flowNodes = nodes.filter((n) => ids.has(n.id));
  // Config nodes the document already has are shared, not duplicated.
  const configs = nodes.filter((n) => isConfigNode(n) && !existing.has(n.id));
  const { dx, dy } = placement(flowNodes, at);
  const pasted = flowNodes.map((n) => remap(n, ids, s.activeTab, dx, dy));
  commit([...s.doc, ...configs, ...pasted], { selection: pasted.map((n) => n.id) });
  toast(`Pasted ${pasted.length} node${pasted.length === 1 ? "" : "s"}`);
}

function placement(nodes: FlowNode[], at: XY | null): { dx: number; dy: number } {
  if (!at) {
    pasteCount++;
    return { dx: 20 * pasteCount, dy: 20 * pasteCount };
  }
  let minX = Infinity, minY = Infinity;
  for (const n of nodes) {
    if (typeof n.x !== "number" || typeof n.y !== "number") continue;
    minX = Math.min(minX, n.x);
    minY = Math.min(minY, n.y);
  }
  if (!Number.isFinite(minX)) return { dx: 0, dy: 0 };
  return { dx: Math.round(at.x - minX), dy: Math.round(at.y - minY) };
}

function remap(n: FlowNode, ids: Map<string, string>, tab: string, dx: number, dy: number): FlowNode {
  const out: FlowNode = { ...n, id: ids.get(n.id)!, z: tab };
  if (typeof n.x === "number") out.x = n.x + dx;
  if (typeof n.y === "number") out.y = n.y + dy;
  if (Array.isArray(n.wires)) out.wires = n.wires.map((targets) => targets.filter((t) => ids.has(t)).map((t) => ids.get(t)!));
  if (typeof n.g === "string") {
    if (ids.has(n.g)) out.g = ids.get(n.g);
    else delete out.g;
  }
  if (n.type === "group" && Array.isArray(n.nodes)) {
    out.nodes = (n.nodes as string[]).filter((id) => ids.has(id)).map((id) => ids.get(id)!);
  }
  if (Array.isArray(n.links)) out.links = (n.links as string[]).filter((id) => ids.has(id)).map((id) => ids.get(id)!);
  return out;
}

/** Node-RED JSON from clipboard text, or null when the text is something else. */
export function parseClipboard(text: string): FlowDocument | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith("[") && !trimmed.startsWith("{")) return null;
  try {
    // `__proto__` keys are dropped: a later key-copying loop would set the prototype with them.
    const { value: data, dropped } = parseJsonSafely(trimmed);
    const list = Array.isArray(data) ? data : [data];
    if (!list.length || !list.every((n) => n && typeof n === "object" && typeof (n as FlowNode).id === "string"
      && typeof (n as FlowNode).type === "string")) return null;
    if (dropped) toast(`Paste: ${droppedKeysNote(dropped)}`, "error", 5000);
    return list as FlowDocument;
  } catch {
    return null;
  }
}
