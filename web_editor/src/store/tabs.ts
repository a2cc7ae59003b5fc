// Tab (flow) actions: add, rename, reorder, enable/disable, delete; subflow definitions open as tabs.
import { newId } from "../io/importExport";
import type { FlowNode } from "../types";
import { byId, tabsOf } from "./docIndex";
import { deleteNodes, insertBefore, moveEntry, replaceNodes } from "./docOps";
import { commit, getState, setState } from "./editorStore";

/** Adds a tab after the last one and shows it; returns its id. */
export function addTab(): string {
  const s = getState();
  const tabs = tabsOf(s.doc);
  const used = new Set(tabs.map((t) => t.label));
  let n = tabs.length + 1;
  while (used.has(`Flow ${n}`)) n++;
  const tab: FlowNode = { id: newId(), type: "tab", label: `Flow ${n}`, disabled: false, info: "", env: [] };
  // Tabs go after the last tab, so the array keeps Node-RED's usual tabs-first order.
  const last = tabs[tabs.length - 1];
  const after = last ? s.doc[s.doc.indexOf(last) + 1] : s.doc[0];
  commit(insertBefore(s.doc, tab, after ? after.id : null), { tab: tab.id, selection: [] });
  return tab.id;
}

export function renameTab(id: string, label: string): void {
  const s = getState();
  const node = byId(s.doc).get(id);
  if (!node) return;
  const key = node.type === "subflow" ? "name" : "label";
  if (node[key] === label) return;
  commit(replaceNodes(s.doc, [{ ...node, [key]: label }]));
}

/** Moves a tab one place left (-1) or right (+1) among the tabs. */
export function shiftTab(id: string, dir: -1 | 1): void {
  const s = getState();
  const tabs = tabsOf(s.doc);
  const i = tabs.findIndex((t) => t.id === id);
  const j = i + dir;
  if (i < 0 || j < 0 || j >= tabs.length) return;
  const before = dir < 0 ? tabs[j].id : tabs[j + 1]?.id ?? null;
  commit(before === null ? moveAfter(s.doc, id, tabs[j].id) : moveEntry(s.doc, id, before));
}

/** Drops tab `id` before tab `beforeId` (null: after the last tab). */
export function dropTabBefore(id: string, beforeId: string | null): void {
  const s = getState();
  const tabs = tabsOf(s.doc);
  if (beforeId === null) commit(moveAfter(s.doc, id, tabs[tabs.length - 1].id));
  else commit(moveEntry(s.doc, id, beforeId));
}

function moveAfter(doc: FlowNode[], id: string, afterId: string): FlowNode[] {
  if (id === afterId) return doc;
  const rest = doc.filter((n) => n.id !== id);
  const at = rest.findIndex((n) => n.id === afterId);
  const node = byId(doc).get(id)!;
  return [...rest.slice(0, at + 1), node, ...rest.slice(at + 1)];
}

export function toggleTabDisabled(id: string): void {
  const s = getState();
  const node = byId(s.doc).get(id);
  if (!node || node.type !== "tab") return;
  commit(replaceNodes(s.doc, [{ ...node, disabled: !node.disabled }]));
}

/** Deletes a tab (or subflow definition) with everything on it; undo brings it back. */
export function deleteTab(id: string): void {
  const s = getState();
  const tabs = tabsOf(s.doc);
  const i = tabs.findIndex((t) => t.id === id);
  const next = tabs[i + 1] ?? tabs[i - 1];
  commit(deleteNodes(s.doc, [id]), { tab: s.activeTab === id ? next?.id ?? "" : s.activeTab, selection: [] });
  setState({ openSubflows: getState().openSubflows.filter((sf) => sf !== id) });
}

export function showTab(id: string): void {
  const s = getState();
  if (s.activeTab === id) return;
  setState({ activeTab: id, selection: new Set(), selectedEdges: new Set(), drag: null });
}

export function openSubflow(id: string): void {
  const s = getState();
  if (!s.openSubflows.includes(id)) setState({ openSubflows: [...s.openSubflows, id] });
  showTab(id);
}

export function closeSubflow(id: string): void {
  const s = getState();
  const openSubflows = s.openSubflows.filter((sf) => sf !== id);
  setState({ openSubflows });
  if (s.activeTab === id) showTab(tabsOf(s.doc)[0]?.id ?? "");
}
