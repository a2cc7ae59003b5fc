// Where a flows.json node refers to other nodes by id. Shared by the importer (to rewrite
// references when ids change) and the exporter (to follow references to what a node needs).
import type { FlowNode } from "../types";
import { SUBFLOW_INSTANCE } from "./classify";

/** Properties that hold structure, never a config-node reference. */
export const STRUCTURAL = new Set(["id", "type", "z", "g", "name", "wires", "links", "scope", "nodes", "x", "y", "info"]);

/** Subflow definition ports: in/out/status each hold `wires: [{id, port?}]`. */
export const SUBFLOW_PORTS = ["in", "out"] as const;

export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** The subflow definition id a `subflow:<id>` instance uses, if it is one. */
export function subflowOf(node: FlowNode): string | undefined {
  return node.type.startsWith(SUBFLOW_INSTANCE) ? node.type.slice(SUBFLOW_INSTANCE.length) : undefined;
}

/** Top-level string property values that name one of `candidates` (config-node references). */
export function configRefs(node: FlowNode, candidates: Set<string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (!STRUCTURAL.has(k) && typeof v === "string" && candidates.has(v)) out.push(v);
  }
  return out;
}
