// Editing actions on the current document. Each one is a single undo step.
import { newId } from "../io/importExport";
import type { FlowNode, NodeTypeDef } from "../types";
import { byId, groupMembers, isFlowNode, wouldNestItself } from "./docIndex";
import {
  connect, connectSubflowPort, deleteNodes, disconnect, disconnectSubflowPort, replaceNodes, subflowPorts, withSubflowPorts,
  type WireRef,
} from "./docOps";
import { SF_PORT_W, SF_STATUS_W, liveGroupRect, parseEdgeId, parseSfPortId, rectOf, shapeContext, shapeFor } from "./derive";
import { commit, getState, setState, toast, type XY } from "./editorStore";
import { NODE_H, unionRects } from "./geometry";
import { addTab } from "./tabs";

/** Default property values from a type's JSON Schema (top-level `default`s; arrays start empty). */
export function schemaDefaults(def: NodeTypeDef | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = (def?.schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [key, spec] of Object.entries(props)) {
    if (key === "name") continue;
    if (spec.default !== undefined && spec.default !== null) out[key] = structuredClone(spec.default);
    else if (spec.type === "array") out[key] = [];
  }
  return out;
}

/** A new node of `type` centred at `at` on the current tab (made first if there is none). */
export function addNodeAt(type: string, at: XY): string | null {
  let tab = getState().activeTab;
  if (!tab) tab = addTab();
  const s = getState();
  const id = newId();
  const x = Math.round(at.x), y = Math.round(at.y);
  let node: FlowNode;
  if (type === "junction") {
    node = { id, type, z: tab, x, y, wires: [[]] };
  } else if (type.startsWith("subflow:")) {
    const sf = byId(s.doc).get(type.slice(8));
    if (!sf) return null;
    if (wouldNestItself(s.doc, tab, type.slice(8))) {
      toast("A subflow cannot contain itself", "error");
      return null;
    }
    const outs = Array.isArray(sf.out) ? sf.out.length : 0;
    node = { id, type, z: tab, name: "", env: [], x, y, wires: Array.from({ length: outs }, () => []) };
  } else {
    const def = s.types.get(type);
    const outs = type === "comment" ? 0 : def?.outputs ?? 1;
    node = { id, type, z: tab, name: "", ...schemaDefaults(def), x, y, wires: Array.from({ length: outs }, () => []) };
  }
  commit([...s.doc, node], { selection: [id] });
  return id;
}

export interface PortConnection {
  source: string;
  sourceHandle?: string | null;
  target: string;
  targetHandle?: string | null;
}

/** A wire drawn on the canvas; the ends may be a subflow's virtual port nodes. */
export function connectPorts(c: PortConnection): void {
  const s = getState();
  const port = Number((c.sourceHandle ?? "o0").slice(1)) || 0;
  const srcPort = parseSfPortId(c.source);
  const dstPort = parseSfPortId(c.target);
  let doc = s.doc;
  if (srcPort && dstPort) {
    // The input straight to an output (Node-RED allows it); not to the status port.
    if (dstPort.key !== "out") return;
    doc = connectSubflowPort(doc, s.activeTab, "out", dstPort.index, { id: s.activeTab });
  } else if (srcPort) doc = connectSubflowPort(doc, s.activeTab, "in", srcPort.index, { id: c.target });
  else if (dstPort) doc = connectSubflowPort(doc, s.activeTab, dstPort.key, dstPort.index, { id: c.source, port });
  else doc = connect(doc, c.source, port, c.target);
  commit(doc);
}

function removeEdges(doc: FlowNode[], ids: Iterable<string>, tab: string): FlowNode[] {
  const plain: WireRef[] = [];
  for (const id of ids) {
    const ref = parseEdgeId(id);
    if (!ref) continue;
    const src = parseSfPortId(ref.source), dst = parseSfPortId(ref.target);
    if (src && dst) doc = disconnectSubflowPort(doc, tab, "out", dst.index, { id: tab });
    else if (src) doc = disconnectSubflowPort(doc, tab, "in", src.index, { id: ref.target });
    else if (dst) doc = disconnectSubflowPort(doc, tab, dst.key, dst.index, { id: ref.source, port: ref.port });
    else plain.push(ref);
  }
  return disconnect(doc, plain);
}

/** Deletes the selected nodes (a group with its members) and wires. */
export function deleteSelection(): void {
  const s = getState();
  if (!s.selection.size && !s.selectedEdges.size) return;
  let doc = removeEdges(s.doc, s.selectedEdges, s.activeTab);
  doc = deleteNodes(doc, [...s.selection].filter((id) => !parseSfPortId(id)));
  commit(doc, { selection: [] });
}

/** Writes the dragged positions into the document: one undo step per drag. */
export function commitDrag(): void {
  const s = getState();
  const drag = s.drag;
  if (!drag || !drag.size) {
    setState({ drag: null });
    return;
  }
  const ctx = shapeContext(s.doc, s.types);
  const index = byId(s.doc);
  const changed: FlowNode[] = [];
  let sf = index.get(s.activeTab);
  for (const [id, pos] of drag) {
    const port = parseSfPortId(id);
    if (port && sf?.type === "subflow") {
      const ports = subflowPorts(sf, port.key).slice();
      if (!ports[port.index]) continue;
      const w = port.key === "status" ? SF_STATUS_W : SF_PORT_W;
      ports[port.index] = { ...ports[port.index], x: Math.round(pos.x + w / 2), y: Math.round(pos.y + NODE_H / 2) };
      sf = withSubflowPorts(sf, port.key, ports);
      continue;
    }
    const node = index.get(id);
    if (!node) continue;
    if (node.type === "group") {
      changed.push({ ...node, x: Math.round(pos.x), y: Math.round(pos.y) });
    } else {
      const shape = shapeFor(node, ctx);
      changed.push({ ...node, x: Math.round(pos.x + shape.width / 2), y: Math.round(pos.y + shape.height / 2) });
    }
  }
  // Groups whose members moved take their new bounds.
  const members = groupMembers(s.doc);
  for (const node of s.doc) {
    if (node.type !== "group" || node.z !== s.activeTab || drag.has(node.id)) continue;
    const r = liveGroupRect(node, members, drag, ctx);
    if (r) changed.push({ ...node, x: Math.round(r.x), y: Math.round(r.y), w: Math.round(r.w), h: Math.round(r.h) });
  }
  if (sf && sf !== index.get(s.activeTab)) changed.push(sf);
  // A click without movement reports a "drag" too: it must not become an undo step.
  const moved = changed.some((n) => {
    const before = index.get(n.id);
    return n.type === "subflow" || !before || before.x !== n.x || before.y !== n.y || before.w !== n.w || before.h !== n.h;
  });
  if (!moved) {
    setState({ drag: null });
    return;
  }
  commit(replaceNodes(s.doc, changed));
}

/** A group being dragged carries its members along. */
export function dragWithMembers(positions: Map<string, XY>): Map<string, XY> {
  const s = getState();
  const index = byId(s.doc);
  const members = groupMembers(s.doc);
  const ctx = shapeContext(s.doc, s.types);
  const out = new Map(positions);
  const carry = (groupId: string, dx: number, dy: number) => {
    for (const m of members.get(groupId) ?? []) {
      if (positions.has(m.id)) continue;
      const r = rectOf(m, ctx);
      out.set(m.id, { x: r.x + dx, y: r.y + dy });
      if (m.type === "group") carry(m.id, dx, dy);
    }
  };
  for (const [id, pos] of positions) {
    const node = index.get(id);
    if (node?.type !== "group") continue;
    const r = rectOf(node, ctx);
    carry(id, pos.x - r.x, pos.y - r.y);
  }
  return out;
}

/** The form's result replaces the node (one undo step); an unchanged result changes nothing. */
export function applyNodeEdit(updated: FlowNode): void {
  const s = getState();
  const before = byId(s.doc).get(updated.id);
  if (!before) return;
  let next = updated;
  // Fewer outputs than before: wires of the removed ports go too.
  const outs = Number(updated.outputs);
  if (Array.isArray(updated.wires) && Number.isFinite(outs) && updated.wires.length > outs && isFlowNode(updated)) {
    next = { ...updated, wires: updated.wires.slice(0, outs) };
  } else if (Array.isArray(updated.wires) && Number.isFinite(outs) && updated.wires.length < outs) {
    next = { ...updated, wires: [...updated.wires, ...Array.from({ length: outs - updated.wires.length }, () => [])] };
  }
  // Done without a change must not make an undo step or mark the node modified.
  if (sameValue(before, next)) return;
  commit(replaceNodes(s.doc, [next]));
}

/** Deep equality of JSON-like values; object key order and `undefined` members do not count. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (!a || !b || typeof a !== "object" || typeof b !== "object") return false;
  const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && sameValue(ra[k], rb[k]));
}

export function addConfigNode(type: string): FlowNode {
  const s = getState();
  const node: FlowNode = { id: newId(), type, name: "", ...schemaDefaults(s.types.get(type)) };
  commit([...s.doc, node]);
  return node;
}

export function selectAll(): void {
  const s = getState();
  const ids = s.doc.filter((n) => n.z === s.activeTab && (isFlowNode(n) || n.type === "group")).map((n) => n.id);
  setState({ selection: new Set(ids), selectedEdges: new Set() });
}

/** Bounds of some nodes of the current document, for centring and placing. */
export function boundsOf(ids: Iterable<string>) {
  const s = getState();
  const ctx = shapeContext(s.doc, s.types);
  const index = byId(s.doc);
  const rects = [];
  for (const id of ids) {
    const n = index.get(id);
    if (n) rects.push(rectOf(n, ctx));
  }
  return unionRects(rects, 0);
}

/** Disables the selected nodes (`d: true`), or enables them when all are disabled already. */
export function toggleDisabledSelection(): void {
  const s = getState();
  const index = byId(s.doc);
  const nodes = [...s.selection].map((id) => index.get(id)).filter((n): n is FlowNode => !!n && isFlowNode(n));
  if (!nodes.length) return;
  const enable = nodes.every((n) => n.d === true);
  commit(replaceNodes(s.doc, nodes.map((n) => {
    const next = { ...n };
    if (enable) delete next.d;
    else next.d = true;
    return next;
  })));
}
