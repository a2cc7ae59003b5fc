// Picks the part of the document to export, with everything it needs to work elsewhere:
// referenced config nodes and subflow definitions (and their insides), members of groups.
import type { FlowDocument, FlowNode } from "../types";
import { configTypes, roleOf } from "./classify";
import { configRefs, stringList, subflowOf } from "./refs";

export type ExportScope = { kind: "selection"; ids: string[] } | { kind: "tab"; tabId: string } | { kind: "all" };

function withoutCredentials(n: FlowNode): FlowNode {
  if (!("credentials" in n)) return n;
  const { credentials: _dropped, ...rest } = n;
  return rest as FlowNode;
}

/** Adds to `picked` what its nodes need, until nothing new turns up. */
function closeOver(doc: FlowDocument, picked: Set<string>): void {
  const roles = new Map(doc.map((n) => [n.id, roleOf(n, configTypes())]));
  const configIds = new Set(doc.filter((n) => roles.get(n.id) === "config").map((n) => n.id));
  const byId = new Map(doc.map((n) => [n.id, n]));
  const members = new Map<string, string[]>(); // container (tab/subflow/group) -> nodes inside
  for (const n of doc) {
    for (const parent of [n.z, n.g]) {
      if (typeof parent === "string") members.set(parent, [...(members.get(parent) ?? []), n.id]);
    }
  }
  const queue = [...picked];
  const add = (id: string | undefined) => {
    if (id !== undefined && byId.has(id) && !picked.has(id)) {
      picked.add(id);
      queue.push(id);
    }
  };
  while (queue.length) {
    const n = byId.get(queue.pop() as string);
    if (!n) continue;
    configRefs(n, configIds).forEach(add);
    add(subflowOf(n));
    // A group or subflow travels with its contents; a group's list and its members' `g` agree.
    if (n.type === "group") {
      stringList(n.nodes).forEach(add);
      (members.get(n.id) ?? []).forEach(add);
    }
    if (n.type === "subflow") (members.get(n.id) ?? []).forEach(add);
  }
}

/** Wires and group membership that point outside a partial export would dangle in the copy. */
function trimToSet(n: FlowNode, keep: Set<string>): FlowNode {
  let out = n;
  if (Array.isArray(n.wires)) {
    const wires = n.wires.map((port) => (Array.isArray(port) ? port.filter((t) => keep.has(t)) : port));
    if (JSON.stringify(wires) !== JSON.stringify(n.wires)) out = { ...out, wires };
  }
  if (typeof n.g === "string" && !keep.has(n.g)) {
    const { g: _g, ...rest } = out;
    out = rest as FlowNode;
  }
  return out;
}

export function exportNodes(doc: FlowDocument, scope: ExportScope): FlowDocument {
  if (scope.kind === "all") return doc.map(withoutCredentials);
  const picked = new Set<string>();
  if (scope.kind === "tab") {
    picked.add(scope.tabId);
    for (const n of doc) if (n.z === scope.tabId) picked.add(n.id);
  } else {
    const wanted = new Set(scope.ids);
    for (const n of doc) {
      if (!wanted.has(n.id)) continue;
      picked.add(n.id);
      // Selecting a tab means exporting what is on it.
      if (n.type === "tab") for (const m of doc) if (m.z === n.id) picked.add(m.id);
    }
  }
  closeOver(doc, picked);
  // Document order, so an export of everything re-imports to the same array.
  return doc.filter((n) => picked.has(n.id)).map((n) => trimToSet(withoutCredentials(n), picked));
}
