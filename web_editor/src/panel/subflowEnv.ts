// A subflow instance's panel lists every env variable of its subflow, as Node-RED does: the
// instance's own overrides, and for the other variables a row holding the subflow's default.
// Default rows carry `DEFAULT_KEY` (the form keeps unknown row keys); on apply a default row the
// user left as it was is dropped, so only real overrides are written to the instance.
import type { FlowNode } from "../types";
import { deepEqual } from "../util/deepEqual";

export const DEFAULT_KEY = "__feDefault";

type Row = Record<string, unknown>;

const isRow = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);

/** The definition's env entries that have a name. */
export function subflowEnvOf(def: FlowNode | undefined): Row[] {
  return Array.isArray(def?.env) ? (def.env as unknown[]).filter((e): e is Row => isRow(e) && typeof e.name === "string" && e.name !== "") : [];
}

/** A default value as the panel's text field shows it. */
const shown = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v));
const typeOf = (r: Row): string => (typeof r.type === "string" && r.type ? r.type : "str");

const cache = new WeakMap<FlowNode, { def: FlowNode; view: FlowNode }>();

/** The instance as its panel edits it: one env row per variable of the subflow, then its other overrides. */
export function withSubflowEnv(node: FlowNode, def: FlowNode | undefined): FlowNode {
  const defaults = subflowEnvOf(def);
  if (!def || !defaults.length) return node;
  const hit = cache.get(node);
  if (hit && hit.def === def) return hit.view;
  const own = Array.isArray(node.env) ? (node.env as unknown[]) : [];
  const ownByName = new Map<string, unknown>();
  for (const r of own) if (isRow(r) && typeof r.name === "string" && !ownByName.has(r.name)) ownByName.set(r.name, r);
  const names = new Set(defaults.map((d) => d.name as string));
  const env = [
    ...defaults.map((d) => ownByName.get(d.name as string) ?? { name: d.name, type: typeOf(d), value: shown(d.value), [DEFAULT_KEY]: true }),
    ...own.filter((r) => !(isRow(r) && typeof r.name === "string" && names.has(r.name) && ownByName.get(r.name) === r)),
  ];
  const view = { ...node, env };
  cache.set(node, { def, view });
  return view;
}


/**
 * The edited instance with the default rows the user left alone dropped (and the markers
 * stripped). When the overrides are what they were, the instance keeps its own `env` as it was.
 */
export function collapseSubflowEnv(before: FlowNode, after: FlowNode, def: FlowNode | undefined): FlowNode {
  if (!Array.isArray(after.env)) return after;
  const defaults = subflowEnvOf(def);
  let marked = false;
  const rows = (after.env as unknown[]).flatMap((r) => {
    if (!isRow(r) || !(DEFAULT_KEY in r)) return [r];
    marked = true;
    const plain = { ...r };
    delete plain[DEFAULT_KEY];
    const d = defaults.find((e) => e.name === plain.name);
    const untouched = d && typeOf(plain) === typeOf(d) && shown(plain.value) === shown(d.value);
    return untouched ? [] : [plain];
  });
  if (!marked && after.env === before.env) return after;
  const own = Array.isArray(before.env) ? (before.env as unknown[]) : undefined;
  const out: FlowNode = { ...after };
  // Same overrides (the list is shown in the subflow's order): keep the instance's own list.
  if (own && rows.length === own.length && rows.every((r) => own.some((o) => deepEqual(o, r)))) out.env = own;
  else if (!own && rows.length === 0) delete out.env;
  else out.env = rows;
  return out;
}
