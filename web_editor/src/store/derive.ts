// The document seen as React Flow nodes and edges for one tab. Each React Flow object is cached
// against the document object it came from, so an edit re-creates only what it touched and React
// Flow re-renders only those nodes.
import { Position, type Edge, type Node, type NodeHandle } from "@xyflow/react";
import type { FlowDocument, FlowNode, NodeTypeDef } from "../types";
import { byId, groupMembers, nodesOf, wiresOf } from "./docIndex";
import { subflowPorts, type SubflowPortKey } from "./docOps";
import type { XY } from "./editorStore";
import {
  GROUP_PAD, NODE_H, PORT, nodeRect, outputPortY, shapeOf, textWidth, unionRects, type NodeShape, type Rect, type ShapeContext,
} from "./geometry";
import { colorOf, iconOf } from "./looks";

export interface FlowNodeData extends Record<string, unknown> {
  node: FlowNode;
  shape: NodeShape;
  color: string;
  icon: string;
}
export interface GroupData extends Record<string, unknown> {
  node: FlowNode;
  label: string;
}
export interface PortData extends Record<string, unknown> {
  key: SubflowPortKey;
  index: number;
}

/** The label at the end of a selected link node's stub to a partner on another tab. */
export interface LinkOffData extends Record<string, unknown> {
  partner: string;
  tabId: string;
  tabLabel: string;
  name: string;
  side: "left" | "right";
}

export type EditorNode =
  | Node<FlowNodeData, "fe" | "junction" | "comment">
  | Node<GroupData, "group">
  | Node<PortData, "sfport">
  | Node<LinkOffData, "linkoff">;

export const SF_PORT_PREFIX = "__sfport:";
export const SF_PORT_W = 40;
export const SF_STATUS_W = 60;
export const LINK_TYPES = new Set(["link in", "link out", "link call"]);

export function sfPortId(key: SubflowPortKey, index: number): string {
  return `${SF_PORT_PREFIX}${key}:${index}`;
}

export function parseSfPortId(id: string): { key: SubflowPortKey; index: number } | null {
  if (!id.startsWith(SF_PORT_PREFIX)) return null;
  const [key, index] = id.slice(SF_PORT_PREFIX.length).split(":");
  return { key: key === "in" || key === "status" ? key : "out", index: Number(index) };
}

export function edgeId(source: string, port: number, target: string): string {
  return `${source}|${port}|${target}`;
}

export function parseEdgeId(id: string): { source: string; port: number; target: string } | null {
  const parts = id.split("|");
  if (parts.length !== 3) return null;
  return { source: parts[0], port: Number(parts[1]), target: parts[2] };
}

// ---- shape context: palette + subflow definitions, cached per document and palette ----

const ctxCache = new WeakMap<FlowDocument, { types: ReadonlyMap<string, NodeTypeDef>; ctx: ShapeContext }>();

export function shapeContext(doc: FlowDocument, types: ReadonlyMap<string, NodeTypeDef>): ShapeContext {
  const hit = ctxCache.get(doc);
  if (hit && hit.types === types) return hit.ctx;
  const ctx = { types, byId: byId(doc) };
  ctxCache.set(doc, { types, ctx });
  return ctx;
}

interface ShapeEntry {
  types: ReadonlyMap<string, NodeTypeDef>;
  sf: FlowNode | undefined;
  shape: NodeShape;
}
const shapeCache = new WeakMap<FlowNode, ShapeEntry>();

/** The shape of a node, cached on the node object (and the subflow it instantiates). */
export function shapeFor(node: FlowNode, ctx: ShapeContext): NodeShape {
  const sf = node.type.startsWith("subflow:") ? ctx.byId.get(node.type.slice(8)) : undefined;
  const hit = shapeCache.get(node);
  if (hit && hit.types === ctx.types && hit.sf === sf) return hit.shape;
  const shape = shapeOf(node, ctx);
  shapeCache.set(node, { types: ctx.types, sf, shape });
  return shape;
}

/** The rectangle of a flow node or group in flow coordinates. */
export function rectOf(node: FlowNode, ctx: ShapeContext): Rect {
  if (node.type === "group") {
    return { x: Number(node.x) || 0, y: Number(node.y) || 0, w: Number(node.w) || 0, h: Number(node.h) || 0 };
  }
  return nodeRect(node, shapeFor(node, ctx));
}

// ---- nodes ----

interface BaseEntry {
  types: ReadonlyMap<string, NodeTypeDef>;
  sf: FlowNode | undefined;
  rf: EditorNode;
}
const baseCache = new WeakMap<FlowNode, BaseEntry>();
const selectedCache = new WeakMap<EditorNode, EditorNode>();

function handlesFor(shape: NodeShape, node: FlowNode): NodeHandle[] {
  const handles: NodeHandle[] = [];
  const half = PORT / 2;
  if (shape.inputs > 0) {
    handles.push({ id: "i", type: "target", position: Position.Left, x: -half, y: shape.height / 2 - half, width: PORT, height: PORT });
  }
  for (let i = 0; i < shape.outputs; i++) {
    const y = outputPortY(i, shape.outputs, shape.height) - half;
    handles.push({ id: `o${i}`, type: "source", position: Position.Right, x: shape.width - half, y, width: PORT, height: PORT });
  }
  // Invisible anchors for the dashed link-node edges.
  if (node.type === "link in") {
    handles.push({ id: "link", type: "target", position: Position.Left, x: 0, y: shape.height / 2, width: 1, height: 1 });
  } else if (LINK_TYPES.has(node.type)) {
    handles.push({ id: "link", type: "source", position: Position.Right, x: shape.width, y: shape.height / 2, width: 1, height: 1 });
  }
  return handles;
}

function baseNode(node: FlowNode, ctx: ShapeContext): EditorNode {
  const sf = node.type.startsWith("subflow:") ? ctx.byId.get(node.type.slice(8)) : undefined;
  const hit = baseCache.get(node);
  if (hit && hit.types === ctx.types && hit.sf === sf) return hit.rf;
  let rf: EditorNode;
  if (node.type === "group") {
    const r = rectOf(node, ctx);
    rf = {
      id: node.id, type: "group", position: { x: r.x, y: r.y }, width: r.w, height: r.h,
      measured: { width: r.w, height: r.h }, zIndex: -1, connectable: false,
      data: { node, label: typeof node.name === "string" ? node.name : "" },
    };
  } else {
    const shape = shapeFor(node, ctx);
    const type = shape.kind === "junction" ? "junction" : shape.kind === "comment" ? "comment" : "fe";
    const r = nodeRect(node, shape);
    rf = {
      id: node.id, type, position: { x: r.x, y: r.y }, width: shape.width, height: shape.height,
      measured: { width: shape.width, height: shape.height }, handles: handlesFor(shape, node),
      data: { node, shape, color: colorOf(node, ctx), icon: iconOf(node, ctx) },
    };
  }
  baseCache.set(node, { types: ctx.types, sf, rf });
  return rf;
}

function withSelected(rf: EditorNode): EditorNode {
  let sel = selectedCache.get(rf);
  if (!sel) {
    sel = { ...rf, selected: true };
    selectedCache.set(rf, sel);
  }
  return sel;
}

export interface DeriveInput {
  doc: FlowDocument;
  types: ReadonlyMap<string, NodeTypeDef>;
  tab: string;
  selection: ReadonlySet<string>;
  drag: ReadonlyMap<string, XY> | null;
}

export function deriveNodes(inp: DeriveInput): EditorNode[] {
  const ctx = shapeContext(inp.doc, inp.types);
  const list = nodesOf(inp.doc, inp.tab);
  const out: EditorNode[] = [];
  const groupsToRefit: FlowNode[] = [];
  for (const node of list) {
    let rf = baseNode(node, ctx);
    if (inp.selection.has(node.id)) rf = withSelected(rf);
    const dragged = inp.drag?.get(node.id);
    if (dragged) rf = { ...rf, position: dragged };
    else if (inp.drag && node.type === "group") groupsToRefit.push(node);
    out.push(rf);
  }
  if (groupsToRefit.length) refitGroups(out, groupsToRefit, inp, ctx);
  const sf = byId(inp.doc).get(inp.tab);
  if (sf?.type === "subflow") out.push(...subflowPortNodes(sf, inp));
  if (inp.selection.size) out.push(...linkOffNodes(inp, ctx));
  return out;
}

// ---- link partners on other tabs: a short dashed stub to a label naming the partner's tab ----

export const LINK_OFF_PREFIX = "__linkoff:";
const LINK_OFF_GAP = 40;
const LINK_OFF_H = 20;
const LINK_OFF_STEP = 24;

interface OffTabStub {
  node: FlowNode;
  partner: FlowNode;
  container: FlowNode;
  id: string;
  /** Position among this node's off-tab partners, and how many there are. */
  k: number;
  count: number;
}

/** Partners on other tabs of the selected link nodes on `tab` (only selected ones: cheap). */
function offTabStubs(doc: FlowDocument, tab: string, selection: ReadonlySet<string>): OffTabStub[] {
  const index = byId(doc);
  const out: OffTabStub[] = [];
  for (const id of selection) {
    const n = index.get(id);
    if (!n || n.z !== tab || !LINK_TYPES.has(n.type) || !Array.isArray(n.links)) continue;
    const mine: OffTabStub[] = [];
    const seen = new Set<string>();
    for (const other of n.links as unknown[]) {
      if (typeof other !== "string" || seen.has(other)) continue;
      seen.add(other);
      const partner = index.get(other);
      if (!partner || typeof partner.z !== "string" || partner.z === tab) continue;
      const container = index.get(partner.z);
      if (!container || (container.type !== "tab" && container.type !== "subflow")) continue;
      mine.push({ node: n, partner, container, id: `${LINK_OFF_PREFIX}${n.id}:${partner.id}`, k: 0, count: 0 });
    }
    mine.forEach((m, k) => { m.k = k; m.count = mine.length; });
    out.push(...mine);
  }
  return out;
}

function linkOffNodes(inp: DeriveInput, ctx: ShapeContext): EditorNode[] {
  return offTabStubs(inp.doc, inp.tab, inp.selection).map((st) => {
    const side = st.node.type === "link in" ? "left" : "right";
    const tabLabel = String((st.container.type === "subflow" ? st.container.name : st.container.label) ?? st.container.id);
    const name = typeof st.partner.name === "string" ? st.partner.name : "";
    const width = textWidth(name ? `${tabLabel} · ${name}` : tabLabel) + 22;
    const r = rectOf(st.node, ctx);
    const at = inp.drag?.get(st.node.id) ?? { x: r.x, y: r.y };
    const y = at.y + r.h / 2 - LINK_OFF_H / 2 + (st.k - (st.count - 1) / 2) * LINK_OFF_STEP;
    const x = side === "right" ? at.x + r.w + LINK_OFF_GAP : at.x - LINK_OFF_GAP - width;
    const half = 1;
    const handle: NodeHandle = side === "right"
      ? { id: "t", type: "target", position: Position.Left, x: 0, y: LINK_OFF_H / 2 - half, width: 1, height: 1 }
      : { id: "s", type: "source", position: Position.Right, x: width, y: LINK_OFF_H / 2 - half, width: 1, height: 1 };
    return {
      id: st.id, type: "linkoff", position: { x, y }, width, height: LINK_OFF_H, measured: { width, height: LINK_OFF_H },
      handles: [handle], selectable: false, draggable: false, connectable: false, deletable: false, focusable: false,
      // Neither selectable nor draggable: React Flow would let clicks through to the pane.
      className: "fe-linkoff-node",
      data: { partner: st.partner.id, tabId: st.container.id, tabLabel, name, side },
    } satisfies Node<LinkOffData, "linkoff">;
  });
}

function linkOffEdges(doc: FlowDocument, tab: string, selection: ReadonlySet<string>): Edge[] {
  return offTabStubs(doc, tab, selection).map((st) => {
    const left = st.node.type === "link in";
    const eid = left ? `link|${st.id}|${st.node.id}` : `link|${st.node.id}|${st.id}`;
    return cachedEdge(eid, () => ({
      id: eid,
      source: left ? st.id : st.node.id, sourceHandle: left ? "s" : "link",
      target: left ? st.node.id : st.id, targetHandle: left ? "link" : "t",
      className: "fe-link-edge", selectable: false, deletable: false, focusable: false,
    }));
  });
}

/** While members are dragged, a group's box follows them (the drop writes it to the document). */
function refitGroups(out: EditorNode[], groups: FlowNode[], inp: DeriveInput, ctx: ShapeContext): void {
  const members = groupMembers(inp.doc);
  const indexOf = new Map(out.map((n, i) => [n.id, i]));
  for (const g of groups) {
    const rect = liveGroupRect(g, members, inp.drag!, ctx);
    if (!rect) continue;
    const i = indexOf.get(g.id)!;
    out[i] = { ...out[i], position: { x: rect.x, y: rect.y }, width: rect.w, height: rect.h, measured: { width: rect.w, height: rect.h } } as EditorNode;
  }
}

/** A group's rectangle given the dragged positions, or null when none of its members moved. */
export function liveGroupRect(
  g: FlowNode, members: Map<string, FlowNode[]>, drag: ReadonlyMap<string, XY>, ctx: ShapeContext,
): Rect | null {
  let moved = false;
  const rects: Rect[] = [];
  for (const m of members.get(g.id) ?? []) {
    const d = drag.get(m.id);
    let r = rectOf(m, ctx);
    if (m.type === "group" && !d) {
      const live = liveGroupRect(m, members, drag, ctx);
      if (live) {
        moved = true;
        r = live;
      }
    }
    if (d) {
      moved = true;
      r = { ...r, x: d.x, y: d.y };
    }
    rects.push(r);
  }
  if (!moved) return null;
  return unionRects(rects, GROUP_PAD);
}

function subflowPortNodes(sf: FlowNode, inp: DeriveInput): EditorNode[] {
  const out: EditorNode[] = [];
  for (const key of ["in", "out", "status"] as const) {
    subflowPorts(sf, key).forEach((port, index) => {
      const id = sfPortId(key, index);
      const w = key === "status" ? SF_STATUS_W : SF_PORT_W;
      const pos = inp.drag?.get(id) ?? { x: (Number(port.x) || 0) - w / 2, y: (Number(port.y) || 0) - NODE_H / 2 };
      const half = PORT / 2;
      const handle: NodeHandle = key === "in"
        ? { id: "o0", type: "source", position: Position.Right, x: w - half, y: NODE_H / 2 - half, width: PORT, height: PORT }
        : { id: "i", type: "target", position: Position.Left, x: -half, y: NODE_H / 2 - half, width: PORT, height: PORT };
      out.push({
        id, type: "sfport", position: pos, width: w, height: NODE_H, measured: { width: w, height: NODE_H },
        handles: [handle], selected: inp.selection.has(id), deletable: false, data: { key, index },
      });
    });
  }
  return out;
}

// ---- edges ----

const edgeCache = new Map<string, Edge>();
const selectedEdgeCache = new WeakMap<Edge, Edge>();
const tabEdgesCache = new WeakMap<FlowDocument, Map<string, Edge[]>>();

function cachedEdge(id: string, make: () => Edge): Edge {
  let e = edgeCache.get(id);
  if (!e) {
    if (edgeCache.size > 100_000) edgeCache.clear();
    e = make();
    edgeCache.set(id, e);
  }
  return e;
}

function wireEdge(source: string, port: number, target: string, targetHandle = "i"): Edge {
  const id = edgeId(source, port, target);
  return cachedEdge(id, () => ({ id, source, sourceHandle: `o${port}`, target, targetHandle }));
}

/** The wires of a tab (and a subflow's port wires), cached per document. */
function tabEdges(doc: FlowDocument, tab: string): Edge[] {
  let perTab = tabEdgesCache.get(doc);
  if (!perTab) {
    perTab = new Map();
    tabEdgesCache.set(doc, perTab);
  }
  const hit = perTab.get(tab);
  if (hit) return hit;
  const list = nodesOf(doc, tab);
  const onTab = new Set(list.map((n) => n.id));
  const edges: Edge[] = [];
  for (const n of list) {
    wiresOf(n).forEach((targets, port) => {
      for (const t of targets) if (onTab.has(t)) edges.push(wireEdge(n.id, port, t));
    });
  }
  const sf = byId(doc).get(tab);
  if (sf?.type === "subflow") {
    subflowPorts(sf, "in").forEach((p, i) => {
      for (const w of p.wires ?? []) if (onTab.has(w.id)) edges.push(wireEdge(sfPortId("in", i), 0, w.id));
    });
    subflowPorts(sf, "out").forEach((p, i) => {
      for (const w of p.wires ?? []) {
        if (w.id === sf.id) edges.push(wireEdge(sfPortId("in", 0), 0, sfPortId("out", i)));
        else if (onTab.has(w.id)) edges.push(wireEdge(w.id, w.port ?? 0, sfPortId("out", i)));
      }
    });
    subflowPorts(sf, "status").forEach((p, i) => {
      for (const w of p.wires ?? []) if (onTab.has(w.id)) edges.push(wireEdge(w.id, w.port ?? 0, sfPortId("status", i)));
    });
  }
  perTab.set(tab, edges);
  return edges;
}

/** Dashed edges between selected link nodes and their partners on the same tab. */
function linkEdges(doc: FlowDocument, tab: string, selection: ReadonlySet<string>): Edge[] {
  const index = byId(doc);
  const out: Edge[] = [];
  const seen = new Set<string>();
  for (const id of selection) {
    const n = index.get(id);
    if (!n || n.z !== tab || !LINK_TYPES.has(n.type) || !Array.isArray(n.links)) continue;
    for (const other of n.links as string[]) {
      const partner = index.get(other);
      if (!partner || partner.z !== tab) continue;
      const [src, dst] = n.type === "link in" ? [partner.id, n.id] : [n.id, partner.id];
      const eid = `link|${src}|${dst}`;
      if (seen.has(eid)) continue;
      seen.add(eid);
      out.push(cachedEdge(eid, () => ({
        id: eid, source: src, sourceHandle: "link", target: dst, targetHandle: "link",
        className: "fe-link-edge", selectable: false, deletable: false, focusable: false,
      })));
    }
  }
  return out;
}

export function deriveEdges(doc: FlowDocument, tab: string, selection: ReadonlySet<string>, selectedEdges: ReadonlySet<string>): Edge[] {
  const base = tabEdges(doc, tab);
  const links = selection.size ? [...linkEdges(doc, tab, selection), ...linkOffEdges(doc, tab, selection)] : [];
  if (!selectedEdges.size && !links.length) return base;
  const out = selectedEdges.size
    ? base.map((e) => {
      if (!selectedEdges.has(e.id)) return e;
      let sel = selectedEdgeCache.get(e);
      if (!sel) {
        sel = { ...e, selected: true };
        selectedEdgeCache.set(e, sel);
      }
      return sel;
    })
    : base.slice();
  out.push(...links);
  return out;
}
