// Finds flow nodes (on tabs and inside subflows) by name, type, id or property value.
import type { FlowDocument, FlowNode, NodeTypeDef } from "../types";

export interface SearchResult {
  id: string;
  /** What the canvas shows: the name, else the palette label, else the type. */
  label: string;
  type: string;
  /** The tab (or "Subflow: name") the node sits on. */
  tabLabel: string;
  /** Where the query matched, e.g. `name: Soil` or `rules[0].v: 10`. */
  matched: string;
}

export const MAX_RESULTS = 100;

/** Properties that are layout or wiring, not something a user would search for. */
const SKIP = new Set(["id", "type", "z", "g", "x", "y", "w", "h", "wires", "links", "scope", "nodes", "credentials", "l"]);

const SUBFLOW_PREFIX = "subflow:";

function scalar(v: unknown): string | undefined {
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
}

/** `[path, text]` for every string/number property, one level into objects and arrays (rules[i].v too). */
function* propertyTexts(node: FlowNode): Generator<[string, string]> {
  for (const [k, v] of Object.entries(node)) {
    if (SKIP.has(k) || k === "name") continue;
    const s = scalar(v);
    if (s !== undefined) {
      yield [k, s];
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        const si = scalar(item);
        if (si !== undefined) yield [`${k}[${i}]`, si];
        else if (item && typeof item === "object" && !Array.isArray(item)) {
          for (const [ik, iv] of Object.entries(item)) {
            const sv = scalar(iv);
            if (sv !== undefined) yield [`${k}[${i}].${ik}`, sv];
          }
        }
      }
    } else if (v && typeof v === "object") {
      for (const [ik, iv] of Object.entries(v)) {
        const sv = scalar(iv);
        if (sv !== undefined) yield [`${k}.${ik}`, sv];
      }
    }
  }
}

function snippet(path: string, text: string, at: number, len: number): string {
  const start = Math.max(0, at - 20);
  const end = Math.min(text.length, at + len + 20);
  const body = (start > 0 ? "…" : "") + text.slice(start, end).replace(/\s+/g, " ") + (end < text.length ? "…" : "");
  return `${path}: ${body}`;
}

export function searchNodes(doc: FlowDocument, query: string, palette?: NodeTypeDef[]): SearchResult[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const labels = new Map((palette ?? []).map((t) => [t.type, t.label || t.type]));
  const containers = new Map<string, string>();
  for (const n of doc) {
    if (n.type === "tab") containers.set(n.id, String(n.label ?? n.id));
    else if (n.type === "subflow") containers.set(n.id, `Subflow: ${String(n.name ?? n.id)}`);
  }
  const typeLabel = (type: string) => {
    if (type.startsWith(SUBFLOW_PREFIX)) {
      const def = containers.get(type.slice(SUBFLOW_PREFIX.length));
      if (def) return def.replace(/^Subflow: /, "");
    }
    return labels.get(type) ?? type;
  };

  // Better matches first: an exact id, then names, types, ids, properties; doc order within each.
  const ranked: { rank: number; order: number; result: SearchResult }[] = [];
  doc.forEach((n, order) => {
    // Only nodes that live on a tab or in a subflow can be shown and selected on the canvas.
    if (typeof n.z !== "string" || !containers.has(n.z)) return;
    const tLabel = typeLabel(n.type);
    const name = typeof n.name === "string" ? n.name : "";
    const base = { id: n.id, label: name || tLabel, type: tLabel, tabLabel: containers.get(n.z) as string };
    const hit = (rank: number, matched: string) => ranked.push({ rank, order, result: { ...base, matched } });
    if (n.id.toLowerCase() === q) return hit(0, `id: ${n.id}`);
    if (name.toLowerCase().includes(q)) return hit(1, `name: ${name}`);
    if (n.type.toLowerCase().includes(q) || tLabel.toLowerCase().includes(q)) return hit(2, `type: ${tLabel}`);
    if (n.id.toLowerCase().includes(q)) return hit(3, `id: ${n.id}`);
    for (const [path, text] of propertyTexts(n)) {
      const at = text.toLowerCase().indexOf(q);
      if (at >= 0) return hit(4, snippet(path, text, at, q.length));
    }
  });
  ranked.sort((a, b) => a.rank - b.rank || a.order - b.order);
  return ranked.slice(0, MAX_RESULTS).map((r) => r.result);
}
