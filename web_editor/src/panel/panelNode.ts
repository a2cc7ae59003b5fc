// What the node panel edits is a view of the node: rows of a switch's rules tagged with their
// index (so their wires can follow them) and a subflow instance's env listing the subflow's
// variables. `fromPanel` turns the panel's result back into the node for the document.
import { byId } from "../store/docIndex";
import { portListKey, remapPortList, tagPortRows } from "../store/ruleWires";
import type { FlowDocument, FlowNode, NodeTypeDef, Problem } from "../types";
import { collapseSubflowEnv, withSubflowEnv } from "./subflowEnv";

function subflowOf(node: FlowNode, doc: FlowDocument): FlowNode | undefined {
  if (!node.type.startsWith("subflow:")) return undefined;
  const sf = byId(doc).get(node.type.slice(8));
  return sf?.type === "subflow" ? sf : undefined;
}

/** Whether the type's form draws `key` (else the JSON editor would show the row tags). */
function formHas(typeDef: NodeTypeDef | undefined, key: string): boolean {
  const props = typeDef?.schema?.properties;
  return typeof props === "object" && props !== null && key in props;
}

/** The node as the panel shows it (the same object while the node is unchanged). */
export function toPanel(node: FlowNode, doc: FlowDocument, typeDef: NodeTypeDef | undefined): FlowNode {
  const key = portListKey(node);
  if (key && formHas(typeDef, key)) return tagPortRows(node);
  const sf = subflowOf(node, doc);
  if (sf) return withSubflowEnv(node, sf);
  return node;
}

/** The panel's result as the node to write: tags and untouched default rows removed, ports rewired. */
export function fromPanel(updated: FlowNode, doc: FlowDocument): FlowNode {
  const before = byId(doc).get(updated.id);
  if (!before) return updated;
  let out = updated;
  const sf = subflowOf(before, doc);
  if (sf) out = collapseSubflowEnv(before, out, sf);
  return remapPortList(before, out);
}

/** Server problems re-pointed at the panel's rows: a problem on the stored `env[i]` of a subflow
 * instance goes to the row where the panel lists that entry (it lists the subflow's variables
 * first, so the order differs). Other paths are unchanged. */
export function problemsForPanel(problems: Problem[], node: FlowNode, view: FlowNode): Problem[] {
  if (view === node || !Array.isArray(node.env) || !Array.isArray(view.env) || problems.length === 0) return problems;
  const stored = node.env as unknown[];
  const shown = view.env as unknown[];
  let changed = false;
  const out = problems.map((p) => {
    const m = /^env(?:\[(\d+)\]|\.(\d+))(.*)$/.exec(p.path ?? "");
    if (!m) return p;
    const at = shown.indexOf(stored[Number(m[1] ?? m[2])]);
    if (at < 0) return p;
    changed = true;
    return { ...p, path: `env[${at}]${m[3]}` };
  });
  return changed ? out : problems;
}
