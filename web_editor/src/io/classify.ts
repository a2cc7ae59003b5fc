// What role a node of a flows.json document plays. The runtime decides "flow node vs config node"
// by the presence of x and y, so the editor does the same unless the palette says otherwise.
import type { FlowDocument, FlowNode, NodeTypeDef } from "../types";

export type Role = "tab" | "subflow" | "config" | "flow";

export const SUBFLOW_INSTANCE = "subflow:";

function isNum(v: unknown): boolean {
  return typeof v === "number" || (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)));
}

/** Types the palette marks as config nodes. */
export function configTypes(palette?: NodeTypeDef[]): Set<string> {
  return new Set((palette ?? []).filter((t) => t.config).map((t) => t.type));
}

export function roleOf(node: FlowNode, configs: Set<string>): Role {
  if (node.type === "tab") return "tab";
  if (node.type === "subflow") return "subflow";
  if (node.type === "group" || node.type === "junction" || node.type.startsWith(SUBFLOW_INSTANCE)) return "flow";
  if (configs.has(node.type)) return "config";
  return isNum(node.x) && isNum(node.y) ? "flow" : "config";
}

export interface Summary {
  nodes: number;
  tabs: number;
  subflows: number;
  configs: number;
  groups: number;
}

export function summarize(doc: FlowDocument, palette?: NodeTypeDef[]): Summary {
  const configs = configTypes(palette);
  const s: Summary = { nodes: 0, tabs: 0, subflows: 0, configs: 0, groups: 0 };
  for (const n of doc) {
    const role = roleOf(n, configs);
    if (role === "tab") s.tabs++;
    else if (role === "subflow") s.subflows++;
    else if (role === "config") s.configs++;
    else if (n.type === "group") s.groups++;
    else s.nodes++;
  }
  return s;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "12 nodes, 1 tab, 2 config nodes": zero counts other than nodes are left out. */
export function describeSummary(s: Summary): string {
  const parts = [plural(s.nodes, "node", "nodes")];
  if (s.tabs) parts.push(plural(s.tabs, "tab", "tabs"));
  if (s.subflows) parts.push(plural(s.subflows, "subflow", "subflows"));
  if (s.groups) parts.push(plural(s.groups, "group", "groups"));
  if (s.configs) parts.push(plural(s.configs, "config node", "config nodes"));
  return parts.join(", ");
}
