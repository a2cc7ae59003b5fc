// Raw property editing for node types without a schema: everything but identity, position,
// wiring and secrets is editable as JSON.
import type { FlowNode } from "../types";
import type { JsonObject } from "./convert";

const STRUCTURAL = ["id", "type", "z", "x", "y", "wires", "g", "credentials"];

export function editableProps(node: FlowNode): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) if (!STRUCTURAL.includes(k)) out[k] = v;
  return out;
}

/** The node with its editable properties replaced by `props` (deleted keys are removed). */
export function applyRawProps(node: FlowNode, props: JsonObject): FlowNode {
  const out: FlowNode = { id: node.id, type: node.type };
  for (const [k, v] of Object.entries(node)) {
    if (STRUCTURAL.includes(k)) out[k] = v;
    else if (k in props) out[k] = props[k];
  }
  for (const [k, v] of Object.entries(props)) if (!STRUCTURAL.includes(k) && !(k in out)) out[k] = v;
  return out;
}
