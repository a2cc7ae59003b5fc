// Node sizes and port positions, computed (not measured) so React Flow can place edges before
// anything is in the DOM: that is what makes a 1,000-node tab ready quickly. Node-RED stores the
// centre of a node in x/y; React Flow wants the top-left corner, so the size decides the offset.
import type { FlowNode, NodeTypeDef } from "../types";

export const NODE_H = 30;
export const PORT = 10;
export const PORT_STEP = 15;
export const JUNCTION = 10;
export const COMPACT_W = 30;
export const GROUP_PAD = 20;

export type ShapeKind = "node" | "compact" | "junction" | "comment";

export interface NodeShape {
  kind: ShapeKind;
  width: number;
  height: number;
  inputs: number;
  outputs: number;
  label: string;
  /** True when the palette does not know the type (drawn dashed, as Node-RED does). */
  unknown: boolean;
}

export interface ShapeContext {
  types: ReadonlyMap<string, NodeTypeDef>;
  byId: ReadonlyMap<string, FlowNode>;
}

const LINK_TYPES = new Set(["link in", "link out", "link call"]);

/** Inputs and outputs of a node: its own `outputs` wins (switch, function), subflow instances
 * take their definition's ports, and link nodes keep Node-RED's one-sided shape. */
export function portsOf(node: FlowNode, ctx: ShapeContext): { inputs: number; outputs: number; unknown: boolean } {
  const type = node.type;
  if (type === "comment") return { inputs: 0, outputs: 0, unknown: false };
  if (type === "junction") return { inputs: 1, outputs: 1, unknown: false };
  if (type === "link in") return { inputs: 0, outputs: 1, unknown: false };
  if (type === "link out") return { inputs: 1, outputs: 0, unknown: false };
  if (type.startsWith("subflow:")) {
    const sf = ctx.byId.get(type.slice(8));
    const ins = Array.isArray(sf?.in) ? Math.min(sf.in.length, 1) : 0;
    const outs = Array.isArray(sf?.out) ? sf.out.length : 0;
    return { inputs: ins, outputs: outs, unknown: !sf };
  }
  const def = ctx.types.get(type);
  const own = Number(node.outputs);
  const wired = Array.isArray(node.wires) ? node.wires.length : 0;
  const outputs = node.outputs !== undefined && Number.isFinite(own) ? own : def ? def.outputs : wired;
  return { inputs: def ? Math.min(def.inputs, 1) : 1, outputs: Math.max(0, outputs), unknown: !def };
}

export function labelOf(node: FlowNode, ctx: ShapeContext): string {
  if (typeof node.name === "string" && node.name) return node.name;
  if (node.type.startsWith("subflow:")) {
    const sf = ctx.byId.get(node.type.slice(8));
    return (typeof sf?.name === "string" && sf.name) || "subflow";
  }
  return ctx.types.get(node.type)?.label || node.type;
}

export function shapeOf(node: FlowNode, ctx: ShapeContext): NodeShape {
  const { inputs, outputs, unknown } = portsOf(node, ctx);
  const label = labelOf(node, ctx);
  if (node.type === "junction") {
    return { kind: "junction", width: JUNCTION, height: JUNCTION, inputs, outputs, label, unknown };
  }
  if (node.type === "comment") {
    return { kind: "comment", width: snap20(textWidth(label) + 30), height: NODE_H, inputs, outputs, label, unknown };
  }
  const height = Math.max(NODE_H, outputs * PORT_STEP);
  // Link nodes are drawn as a bare icon unless their label is switched on (`l: true`).
  if ((LINK_TYPES.has(node.type) && node.l !== true) || node.l === false) {
    return { kind: "compact", width: COMPACT_W, height, inputs, outputs, label, unknown };
  }
  return { kind: "node", width: Math.max(100, snap20(textWidth(label) + 48)), height, inputs, outputs, label, unknown };
}

/** Centre of output port `i` of `n` ports, from the node's top. */
export function outputPortY(i: number, n: number, height: number): number {
  return (height - n * PORT_STEP) / 2 + i * PORT_STEP + PORT_STEP / 2;
}

function snap20(v: number): number {
  return Math.ceil(v / 20) * 20;
}

const widthCache = new Map<string, number>();
let measureCtx: CanvasRenderingContext2D | null | undefined;

/** Width of a label in the node font; measured once per distinct label. */
export function textWidth(text: string): number {
  const cached = widthCache.get(text);
  if (cached !== undefined) return cached;
  if (measureCtx === undefined) {
    measureCtx = typeof document !== "undefined" ? document.createElement("canvas").getContext("2d") : null;
    if (measureCtx) measureCtx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  }
  const w = Math.ceil(measureCtx ? measureCtx.measureText(text).width : text.length * 6.5);
  if (widthCache.size > 20_000) widthCache.clear();
  widthCache.set(text, w);
  return w;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The rectangle a flow node covers (x/y is its centre). */
export function nodeRect(node: FlowNode, shape: NodeShape): Rect {
  const x = Number(node.x) || 0;
  const y = Number(node.y) || 0;
  return { x: x - shape.width / 2, y: y - shape.height / 2, w: shape.width, h: shape.height };
}

export function unionRects(rects: Rect[], pad: number): Rect | null {
  if (!rects.length) return null;
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const r of rects) {
    x1 = Math.min(x1, r.x);
    y1 = Math.min(y1, r.y);
    x2 = Math.max(x2, r.x + r.w);
    y2 = Math.max(y2, r.y + r.h);
  }
  return { x: x1 - pad, y: y1 - pad, w: x2 - x1 + 2 * pad, h: y2 - y1 + 2 * pad };
}
