// Pure edits of the flows.json document. Each returns a new array and new objects only for the
// nodes it changed, so unchanged nodes keep their identity (undo snapshots share them, and the
// "modified since deploy" check is an identity comparison).
import type { FlowDocument, FlowNode } from "../types";
import { byId, groupMembers, wiresOf } from "./docIndex";

export function replaceNodes(doc: FlowDocument, updated: Iterable<FlowNode>): FlowDocument {
  const map = new Map<string, FlowNode>();
  for (const n of updated) map.set(n.id, n);
  if (!map.size) return doc;
  return doc.map((n) => map.get(n.id) ?? n);
}

/** Sets properties on one node, keeping its key order (new keys go at the end). */
export function patchNode(node: FlowNode, patch: Partial<FlowNode>): FlowNode {
  return { ...node, ...patch };
}

/** Adds a wire from output `port` of `source` to `target` (no duplicates). */
export function connect(doc: FlowDocument, source: string, port: number, target: string): FlowDocument {
  const src = byId(doc).get(source);
  if (!src || source === target) return doc;
  const wires = wiresOf(src).map((w) => w.slice());
  while (wires.length <= port) wires.push([]);
  if (wires[port].includes(target)) return doc;
  wires[port].push(target);
  return replaceNodes(doc, [patchNode(src, { wires })]);
}

export interface WireRef {
  source: string;
  port: number;
  target: string;
}

export function disconnect(doc: FlowDocument, refs: WireRef[]): FlowDocument {
  const index = byId(doc);
  const changed = new Map<string, FlowNode>();
  for (const ref of refs) {
    const src = changed.get(ref.source) ?? index.get(ref.source);
    if (!src) continue;
    const wires = wiresOf(src).map((targets, p) => (p === ref.port ? targets.filter((t) => t !== ref.target) : targets));
    changed.set(src.id, patchNode(src, { wires }));
  }
  return replaceNodes(doc, changed.values());
}

/** The ids to remove when deleting `ids`: groups take their members (nested groups too),
 * tabs and subflow definitions take everything on them (and a subflow its instances). */
export function expandDeletion(doc: FlowDocument, ids: Iterable<string>): Set<string> {
  const index = byId(doc);
  const members = groupMembers(doc);
  const out = new Set<string>();
  const stack = [...ids];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    const node = index.get(id);
    if (!node) continue;
    out.add(id);
    if (node.type === "group") for (const m of members.get(id) ?? []) stack.push(m.id);
    if (node.type === "tab" || node.type === "subflow") {
      for (const n of doc) {
        if (n.z === id) stack.push(n.id);
        if (node.type === "subflow" && n.type === `subflow:${id}`) stack.push(n.id);
      }
    }
  }
  return out;
}

/** Removes nodes and every reference to them: wires, group member lists, link targets,
 * subflow port wires. */
export function deleteNodes(doc: FlowDocument, ids: Iterable<string>): FlowDocument {
  const gone = expandDeletion(doc, ids);
  if (!gone.size) return doc;
  const out: FlowDocument = [];
  for (const n of doc) {
    if (gone.has(n.id)) continue;
    out.push(scrubReferences(n, gone));
  }
  return out;
}

function scrubReferences(n: FlowNode, gone: Set<string>): FlowNode {
  let next = n;
  const wires = wiresOf(n);
  if (wires.some((targets) => targets.some((t) => gone.has(t)))) {
    next = { ...next, wires: wires.map((targets) => targets.filter((t) => !gone.has(t))) };
  }
  if (typeof n.g === "string" && gone.has(n.g)) {
    next = { ...next };
    delete next.g;
  }
  if (n.type === "group" && Array.isArray(n.nodes) && (n.nodes as string[]).some((id) => gone.has(id))) {
    next = { ...next, nodes: (n.nodes as string[]).filter((id) => !gone.has(id)) };
  }
  if (Array.isArray(n.links) && (n.links as string[]).some((id) => gone.has(id))) {
    next = { ...next, links: (n.links as string[]).filter((id) => !gone.has(id)) };
  }
  if (n.type === "subflow") next = scrubSubflowPorts(next, gone);
  return next;
}

interface PortWire {
  id: string;
  port?: number;
}
interface SubflowPort {
  x?: number;
  y?: number;
  wires?: PortWire[];
  [k: string]: unknown;
}

/** A subflow's port list: `in`/`out` are arrays; `status` is one optional object (shown as a list of 0 or 1). */
export type SubflowPortKey = "in" | "out" | "status";

export function subflowPorts(sf: FlowNode, key: SubflowPortKey): SubflowPort[] {
  if (key === "status") {
    const st = sf.status;
    return st && typeof st === "object" && !Array.isArray(st) ? [st as SubflowPort] : [];
  }
  return Array.isArray(sf[key]) ? (sf[key] as SubflowPort[]) : [];
}

/** The subflow with its `key` ports replaced (for `status`, the first entry or no `status`). */
export function withSubflowPorts(sf: FlowNode, key: SubflowPortKey, ports: SubflowPort[]): FlowNode {
  if (key !== "status") return { ...sf, [key]: ports };
  if (ports.length) return { ...sf, status: ports[0] };
  const next = { ...sf };
  delete next.status;
  return next;
}

function scrubSubflowPorts(sf: FlowNode, gone: Set<string>): FlowNode {
  let next = sf;
  for (const key of ["in", "out", "status"] as const) {
    const ports = subflowPorts(sf, key);
    if (!ports.some((p) => (p.wires ?? []).some((w) => gone.has(w.id)))) continue;
    next = withSubflowPorts(next, key, ports.map((p) => ({ ...p, wires: (p.wires ?? []).filter((w) => !gone.has(w.id)) })));
  }
  return next;
}

/** Moves one array entry (a tab) before another tab's position; other entries keep their order. */
export function moveEntry(doc: FlowDocument, id: string, beforeId: string | null): FlowDocument {
  const node = byId(doc).get(id);
  if (!node || id === beforeId) return doc;
  const rest = doc.filter((n) => n.id !== id);
  const at = beforeId === null ? rest.length : rest.findIndex((n) => n.id === beforeId);
  if (at < 0) return doc;
  return [...rest.slice(0, at), node, ...rest.slice(at)];
}

/** Inserts `node` just before the entry `beforeId` (or at the end). */
export function insertBefore(doc: FlowDocument, node: FlowNode, beforeId: string | null): FlowDocument {
  const at = beforeId === null ? -1 : doc.findIndex((n) => n.id === beforeId);
  if (at < 0) return [...doc, node];
  return [...doc.slice(0, at), node, ...doc.slice(at)];
}

/** Subflow port wiring: the input port feeds `target`, or output (or status) port `index` takes `source:port`. */
export function connectSubflowPort(
  doc: FlowDocument, sfId: string, key: SubflowPortKey, index: number, wire: PortWire,
): FlowDocument {
  const sf = byId(doc).get(sfId);
  if (!sf) return doc;
  const ports = subflowPorts(sf, key).map((p) => ({ ...p, wires: [...(p.wires ?? [])] }));
  const port = ports[index];
  if (!port || port.wires.some((w) => w.id === wire.id && (w.port ?? 0) === (wire.port ?? 0))) return doc;
  port.wires.push(key === "in" ? { id: wire.id } : { id: wire.id, port: wire.port ?? 0 });
  return replaceNodes(doc, [withSubflowPorts(sf, key, ports)]);
}

export function disconnectSubflowPort(
  doc: FlowDocument, sfId: string, key: SubflowPortKey, index: number, wire: PortWire,
): FlowDocument {
  const sf = byId(doc).get(sfId);
  if (!sf) return doc;
  const ports = subflowPorts(sf, key).map((p, i) =>
    i !== index ? p : { ...p, wires: (p.wires ?? []).filter((w) => !(w.id === wire.id && (w.port ?? 0) === (wire.port ?? 0))) });
  return replaceNodes(doc, [withSubflowPorts(sf, key, ports)]);
}
