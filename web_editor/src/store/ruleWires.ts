// Node types whose output ports follow a list, one port per entry (Node-RED's switch: one output
// per rule). Each entry's wires travel with it: removing rule k removes port k and its wires and
// moves the later ports up, reordering rules reorders their wires, a new rule gets an empty port.
//
// The panel cannot say which row went where, so the host tags each row of the list with its
// original index (`ROW_KEY`) before the form sees it. The form carries unknown row keys along
// when rows are moved, removed or edited; rows it adds have none. `remapPortList` reads the tags,
// strips them, and rewires the node.
import type { FlowNode } from "../types";
import { deepEqual } from "../util/deepEqual";

/** Node type -> the list property its output ports follow. */
export const PORT_LISTS: Readonly<Record<string, string>> = { switch: "rules" };

/** Row key carrying a row's index in the node as the panel opened; never written to the document. */
export const ROW_KEY = "__feRow";

type Row = Record<string, unknown>;

const isRow = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);

/** The list property the node's output ports follow, if its type has one. */
export function portListKey(node: FlowNode): string | undefined {
  return Object.hasOwn(PORT_LISTS, node.type) ? PORT_LISTS[node.type] : undefined;
}

const tagged = new WeakMap<FlowNode, FlowNode>();

/** The node with every row of its port list tagged with its index (the same object per node). */
export function tagPortRows(node: FlowNode): FlowNode {
  const key = portListKey(node);
  const rows = key ? node[key] : undefined;
  if (!key || !Array.isArray(rows) || !rows.every(isRow)) return node;
  let out = tagged.get(node);
  if (!out) {
    out = { ...node, [key]: rows.map((r: Row, i) => ({ ...r, [ROW_KEY]: i })) };
    tagged.set(node, out);
  }
  return out;
}

function stripRow(row: unknown): unknown {
  if (!isRow(row) || !(ROW_KEY in row)) return row;
  const out = { ...row };
  delete out[ROW_KEY];
  return out;
}


/**
 * For each row after the edit: the index of the row it was before the edit, or -1 for a new row.
 * Tagged rows say it themselves. Untagged lists (a caller that did not tag) are matched by value:
 * equal rows first (a move), then rows left over in order when as many are left on both sides
 * (edits in place).
 */
export function rowOrigins(before: readonly unknown[], after: readonly unknown[]): number[] {
  const used = new Set<number>();
  if (after.some((r) => isRow(r) && ROW_KEY in r)) {
    return after.map((r) => {
      const tag = isRow(r) ? r[ROW_KEY] : undefined;
      if (typeof tag !== "number" || !Number.isInteger(tag) || tag < 0 || tag >= before.length || used.has(tag)) return -1;
      used.add(tag);
      return tag;
    });
  }
  const origins = after.map((r, i) => {
    const j = [i, ...before.keys()].find((c) => c < before.length && !used.has(c) && deepEqual(r, before[c]));
    if (j === undefined) return -1;
    used.add(j);
    return j;
  });
  const freeBefore = [...before.keys()].filter((j) => !used.has(j));
  const freeAfter = origins.flatMap((o, i) => (o < 0 ? [i] : []));
  if (freeBefore.length === freeAfter.length) freeAfter.forEach((i, n) => { origins[i] = freeBefore[n]; });
  return origins;
}

/**
 * The edited node with its port-list tags stripped and, when rows were added, removed or moved,
 * `outputs` set to the number of rows and `wires` following the rows. `before` is the node as
 * it is in the document. Nodes of other types come back unchanged.
 */
export function remapPortList(before: FlowNode, after: FlowNode): FlowNode {
  const key = portListKey(after);
  const list = key ? after[key] : undefined;
  if (!key || !Array.isArray(list)) return after;
  const prev: unknown[] = Array.isArray(before[key]) ? (before[key] as unknown[]) : [];
  const origins = rowOrigins(prev, list);
  const rows = list.map((row, i) => {
    const plain = stripRow(row);
    const o = origins[i];
    return o >= 0 && deepEqual(plain, prev[o]) ? prev[o] : plain; // untouched rows stay the same objects
  });
  const moved = rows.length !== prev.length || origins.some((o, i) => o !== i);
  if (!moved) {
    const untouched = Array.isArray(before[key]) && rows.every((r, i) => r === prev[i]);
    return { ...after, [key]: untouched ? before[key] : rows };
  }
  const wires = Array.isArray(after.wires) ? after.wires : [];
  return {
    ...after,
    [key]: rows,
    outputs: rows.length,
    wires: origins.map((o) => (o >= 0 && Array.isArray(wires[o]) ? wires[o] : [])),
  };
}
