// Adds an imported document to the editor's document: places the nodes on a tab, gives new ids
// where they clash and rewrites every reference to them, and reuses identical config nodes.
import type { FlowDocument, FlowNode, NodeTypeDef } from "../types";
import { configTypes, roleOf, SUBFLOW_INSTANCE, type Role } from "./classify";
import { freshId } from "./ids";
import { STRUCTURAL, SUBFLOW_PORTS, subflowOf } from "./refs";

export interface MergeOptions {
  target: "new-tab" | "current-tab";
  currentTabId: string;
  palette?: NodeTypeDef[];
}

export interface MergeResult {
  doc: FlowDocument;
  addedIds: string[];
  tabId: string;
}

/** Key-order-insensitive equality, so a config node exported and re-imported is recognised. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

function sameNode(a: FlowNode, b: FlowNode): boolean {
  const strip = ({ credentials: _c, ...rest }: FlowNode) => rest;
  return canonical(strip(a)) === canonical(strip(b));
}

function uniqueLabel(doc: FlowDocument, base: string): string {
  const labels = new Set(doc.filter((n) => n.type === "tab").map((n) => String(n.label ?? "")));
  if (!labels.has(base)) return base;
  let i = 2;
  while (labels.has(`${base} ${i}`)) i++;
  return `${base} ${i}`;
}

interface Plan {
  roles: Role[];
  /** Final id per incoming item; null = dropped (reused config node, or a tab folded into the current tab). */
  finalIds: (string | null)[];
  /** Old id -> new id, for the first item that carried each old id. */
  idMap: Map<string, string>;
  tabs: Set<string>;
  subflows: Set<string>;
  configs: Set<string>;
  groups: Set<string>;
}

function plan(doc: FlowDocument, incoming: FlowDocument, opts: MergeOptions): Plan {
  const configs = configTypes(opts.palette);
  const existing = new Map(doc.map((n) => [n.id, n]));
  const taken = new Set(existing.keys());
  const p: Plan = {
    roles: incoming.map((n) => roleOf(n, configs)),
    finalIds: [],
    idMap: new Map(),
    tabs: new Set(),
    subflows: new Set(),
    configs: new Set(),
    groups: new Set(),
  };
  // Tabs and subflows of the import that end up under another id: a config node scoped to one of
  // them follows it (new id, new z) rather than being reused, or the copy would depend on the original.
  const remapped = new Set<string>();
  incoming.forEach((n, i) => {
    const role = p.roles[i];
    if (role === "tab" && opts.target === "current-tab") {
      if (n.id !== opts.currentTabId) remapped.add(n.id);
    } else if ((role === "tab" || role === "subflow") && taken.has(n.id)) remapped.add(n.id);
  });
  incoming.forEach((n, i) => {
    const role = p.roles[i];
    const first = !p.idMap.has(n.id);
    if (first) {
      if (role === "tab") p.tabs.add(n.id);
      else if (role === "subflow") p.subflows.add(n.id);
      else if (role === "config") p.configs.add(n.id);
      else if (n.type === "group") p.groups.add(n.id);
    }
    const twin = existing.get(n.id);
    const scopeMoves = typeof n.z === "string" && remapped.has(n.z);
    if (role === "config" && twin && !scopeMoves && sameNode(twin, n)) {
      // Already there, unchanged: users of it keep pointing at the existing one.
      if (first) p.idMap.set(n.id, n.id);
      p.finalIds.push(null);
      return;
    }
    if (role === "tab" && opts.target === "current-tab") {
      // Its nodes go to the current tab, so the tab itself is not added.
      if (first) p.idMap.set(n.id, opts.currentTabId);
      p.finalIds.push(null);
      return;
    }
    let id = n.id;
    if (taken.has(id)) id = freshId(taken);
    else taken.add(id);
    if (first) p.idMap.set(n.id, id);
    p.finalIds.push(id);
  });
  return p;
}

type Mapper = (old: string) => string | undefined;

/** Rewrites one node's references, keeping its key order; `z` is set (after `type` when new) or removed. */
function rewrite(n: FlowNode, id: string, z: string | undefined, p: Plan, keepRef: Mapper): FlowNode {
  const inImport: Mapper = (old) => p.idMap.get(old);
  const ids = (v: unknown, map: Mapper): unknown =>
    Array.isArray(v) ? v.flatMap((x) => (typeof x === "string" ? (map(x) ?? []) : [x])) : v;
  const portWires = (port: unknown): unknown => {
    if (!port || typeof port !== "object" || !Array.isArray((port as { wires?: unknown }).wires)) return port;
    const wires = (port as { wires: unknown[] }).wires.flatMap((w) => {
      if (!w || typeof w !== "object" || typeof (w as { id?: unknown }).id !== "string") return [w];
      const to = inImport((w as { id: string }).id);
      return to ? [{ ...(w as object), id: to }] : [];
    });
    return { ...(port as object), wires };
  };

  // Keys are defined, never assigned: `out["__proto__"] = v` would set the prototype.
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown): void => {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  for (const [k, v] of Object.entries(n)) {
    if (k === "id") put("id", id);
    else if (k === "z") {
      if (z !== undefined) put("z", z);
    } else if (k === "type") {
      const sf = subflowOf(n);
      const to = sf !== undefined ? inImport(sf) : undefined;
      put("type", to ? SUBFLOW_INSTANCE + to : v);
      if (z !== undefined && !Object.hasOwn(n, "z")) put("z", z);
    } else if (k === "g") {
      // Only an imported group lists this node among its members.
      const to = typeof v === "string" && p.groups.has(v) ? inImport(v) : undefined;
      if (to) put("g", to);
    } else if (k === "wires" && Array.isArray(v)) put("wires", v.map((port) => ids(port, inImport)));
    else if (k === "nodes" && n.type === "group") put("nodes", ids(v, inImport));
    else if (k === "links" || k === "scope") put(k, ids(v, keepRef));
    else if (n.type === "subflow" && (SUBFLOW_PORTS as readonly string[]).includes(k) && Array.isArray(v)) put(k, v.map(portWires));
    else if (n.type === "subflow" && k === "status") put(k, portWires(v));
    else if (!STRUCTURAL.has(k) && typeof v === "string" && p.configs.has(v)) put(k, inImport(v));
    else put(k, v);
  }
  return out as FlowNode;
}

/** Pasted into a tab that already has nodes where the import's sit: move the import below them. */
function offsetBelow(existing: FlowNode[], added: FlowNode[]): void {
  const box = (ns: FlowNode[]) => {
    const pts = ns.filter((n) => typeof n.x === "number" && typeof n.y === "number");
    if (!pts.length) return null;
    const xs = pts.map((n) => n.x as number);
    const ys = pts.flatMap((n) => [n.y as number, (n.y as number) + (typeof n.h === "number" ? n.h : 0)]);
    return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  };
  const a = box(existing);
  const b = box(added);
  if (!a || !b) return;
  const margin = 40;
  const overlaps = b.x0 <= a.x1 + margin && b.x1 >= a.x0 - margin && b.y0 <= a.y1 + margin && b.y1 >= a.y0 - margin;
  if (!overlaps) return;
  // Keep the import on Node-RED's 20 px grid.
  const dy = Math.ceil((a.y1 - b.y0 + 80) / 20) * 20;
  for (const n of added) if (typeof n.y === "number") n.y += dy;
}

export function mergeImport(doc: FlowDocument, incoming: FlowDocument, options: MergeOptions): MergeResult {
  // With no tab to import into (an empty document), the current-tab choice means a new tab.
  const current = doc.find((n) => n.id === options.currentTabId);
  const opts: MergeOptions =
    options.target === "current-tab" && current?.type !== "tab" && current?.type !== "subflow" ? { ...options, target: "new-tab" } : options;
  const p = plan(doc, incoming, opts);
  const existing = new Map(doc.map((n) => [n.id, n]));
  const keepRef: Mapper = (old) => p.idMap.get(old) ?? (existing.has(old) ? old : undefined);
  const isContainer = (id: string | undefined) => {
    const t = id === undefined ? undefined : existing.get(id)?.type;
    return t === "tab" || t === "subflow";
  };

  // The tab that receives flow nodes without an imported tab or subflow of their own.
  let strayTab: string | undefined;
  let newTab: FlowNode | undefined;
  const firstTab = incoming.findIndex((_n, i) => p.roles[i] === "tab" && p.finalIds[i] !== null);
  const needsStray = incoming.some((n, i) => p.roles[i] === "flow" && !(n.z !== undefined && (p.tabs.has(n.z) || p.subflows.has(n.z))));
  if (opts.target === "current-tab") strayTab = opts.currentTabId;
  else if (firstTab >= 0) strayTab = p.finalIds[firstTab] as string;
  else if (needsStray) {
    const taken = new Set([...existing.keys(), ...p.finalIds.filter((x): x is string => x !== null)]);
    newTab = { id: freshId(taken), type: "tab", label: uniqueLabel(doc, "Imported"), disabled: false, info: "", env: [] };
    strayTab = newTab.id;
  }

  const zFor = (n: FlowNode, role: Role): string | undefined => {
    if (role === "tab" || role === "subflow") return n.z; // containers have no z; leave whatever is there
    const mapped = n.z !== undefined && (p.tabs.has(n.z) || p.subflows.has(n.z)) ? p.idMap.get(n.z) : undefined;
    if (role === "flow") return mapped ?? strayTab;
    // Config nodes: global unless their scope still exists after the import.
    if (mapped) return mapped;
    return isContainer(n.z) ? n.z : undefined;
  };

  const added: FlowNode[] = [];
  incoming.forEach((n, i) => {
    const id = p.finalIds[i];
    if (id === null) return;
    added.push(rewrite(n, id, zFor(n, p.roles[i]), p, keepRef));
  });

  if (opts.target === "current-tab") {
    const onTab = (n: FlowNode) => n.z === opts.currentTabId;
    offsetBelow(doc.filter(onTab), added.filter(onTab));
  }

  const all = newTab ? [newTab, ...added] : added;
  const tabId = opts.target === "current-tab" ? opts.currentTabId : (strayTab ?? opts.currentTabId);
  return { doc: [...doc, ...all], addedIds: all.map((n) => n.id), tabId };
}
