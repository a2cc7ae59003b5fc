// Cheap lookups over the document, cached per document array. Every edit makes a new array
// (structural sharing), so a WeakMap keyed by the array is a correct and free cache.
import type { FlowDocument, FlowNode } from "../types";

const byIdCache = new WeakMap<FlowDocument, Map<string, FlowNode>>();
const byZCache = new WeakMap<FlowDocument, Map<string, FlowNode[]>>();
const groupMembersCache = new WeakMap<FlowDocument, Map<string, FlowNode[]>>();

export function byId(doc: FlowDocument): Map<string, FlowNode> {
  let map = byIdCache.get(doc);
  if (!map) {
    map = new Map(doc.map((n) => [n.id, n]));
    byIdCache.set(doc, map);
  }
  return map;
}

/** Flow nodes and groups of each tab or subflow, in document order. */
export function byZ(doc: FlowDocument): Map<string, FlowNode[]> {
  let map = byZCache.get(doc);
  if (!map) {
    map = new Map();
    for (const n of doc) {
      if (typeof n.z !== "string" || !isOnCanvas(n)) continue;
      const list = map.get(n.z);
      if (list) list.push(n);
      else map.set(n.z, [n]);
    }
    byZCache.set(doc, map);
  }
  return map;
}

export function nodesOf(doc: FlowDocument, z: string): FlowNode[] {
  return byZ(doc).get(z) ?? EMPTY;
}

/** Members (nodes and nested groups) of every group, by their `g`. */
export function groupMembers(doc: FlowDocument): Map<string, FlowNode[]> {
  let map = groupMembersCache.get(doc);
  if (!map) {
    map = new Map();
    for (const n of doc) {
      if (typeof n.g !== "string") continue;
      const list = map.get(n.g);
      if (list) list.push(n);
      else map.set(n.g, [n]);
    }
    groupMembersCache.set(doc, map);
  }
  return map;
}

const EMPTY: FlowNode[] = [];

/**
 * Whether an instance of subflow `sfId` placed on `container` (a tab or subflow) would make a
 * subflow contain itself: `container` is that subflow, or is used (at any depth) inside it.
 */
export function wouldNestItself(doc: FlowDocument, container: string, sfId: string): boolean {
  const z = byZ(doc);
  const seen = new Set<string>();
  const walk = (id: string): boolean => {
    if (id === container) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    for (const n of z.get(id) ?? EMPTY) {
      if (n.type.startsWith("subflow:") && walk(n.type.slice(8))) return true;
    }
    return false;
  };
  return walk(sfId);
}

export const isTab = (n: FlowNode): boolean => n.type === "tab";
export const isSubflowDef = (n: FlowNode): boolean => n.type === "subflow";
export const isGroup = (n: FlowNode): boolean => n.type === "group";

/** Drawn on a canvas: Node-RED tells flow nodes from config nodes by x and y. */
export function isOnCanvas(n: FlowNode): boolean {
  if (n.type === "tab" || n.type === "subflow") return false;
  if (n.type === "group" || n.type === "junction") return true;
  return typeof n.x === "number" && typeof n.y === "number";
}

/** A flow node proper (not a tab, subflow definition, group or config node). */
export function isFlowNode(n: FlowNode): boolean {
  return n.type !== "group" && isOnCanvas(n);
}

export function isConfigNode(n: FlowNode): boolean {
  return n.type !== "tab" && n.type !== "subflow" && !isOnCanvas(n);
}

export function tabsOf(doc: FlowDocument): FlowNode[] {
  return doc.filter(isTab);
}

export function subflowsOf(doc: FlowDocument): FlowNode[] {
  return doc.filter(isSubflowDef);
}

export function wiresOf(n: FlowNode): string[][] {
  return Array.isArray(n.wires) ? n.wires : [];
}
