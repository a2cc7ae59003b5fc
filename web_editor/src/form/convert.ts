// Node object <-> form data. The form edits a "view" of the node: a typed pair such as
// payload + payloadType becomes one {value, type} object, everything else keeps its raw value.
// Going back, whatever the user did not change is taken from the original node untouched,
// so numbers stored as strings, missing keys and unknown properties survive exactly.
import type { FlowNode, NodeTypeDef } from "../types";
import { buildFormSpec, subflowTypeDef, type ObjectSpec, type PropSpec, type FormSpec } from "./spec";

/** Plain JSON object. Form data is JSON from the node document, hence `unknown` values. */
export type JsonObject = Record<string, unknown>;

export const isPlainObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

import { deepEqual } from "../util/deepEqual";

export { deepEqual };

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

// Hosts may build type definitions on the fly (tabs, subflows): cache by content, not identity,
// so the form keeps one schema while it is open.
const specCache = new Map<string, FormSpec>();

/** The form model for a node: its type's, or the subflow-instance one. Null when there is none. */
export function specFor(node: FlowNode, typeDef: NodeTypeDef | undefined): FormSpec | null {
  const def = typeDef ?? (node.type.startsWith("subflow:") ? subflowTypeDef(node.type) : undefined);
  if (!def) return null;
  const key = JSON.stringify([def.type, def.schema, def.credentials ?? null]);
  let spec = specCache.get(key);
  if (!spec) {
    spec = buildFormSpec(def);
    if (specCache.size > 100) specCache.clear();
    specCache.set(key, spec);
  }
  return spec;
}

// ---- raw -> view ----

function propToView(p: PropSpec, raw: JsonObject): unknown {
  if (p.kind === "typed" && p.typed) {
    const hasValue = p.key in raw;
    const hasType = p.typed.typeField in raw;
    if (!hasValue && !hasType) return undefined; // let the defaults fill both
    const pair: JsonObject = {};
    if (hasValue) pair.value = raw[p.key];
    if (hasType) pair.type = raw[p.typed.typeField];
    return pair;
  }
  return valueToView(p, raw[p.key]);
}

function valueToView(p: PropSpec, value: unknown): unknown {
  if (p.kind === "rows" && p.item && Array.isArray(value)) {
    const item = p.item;
    return value.map((row) => {
      if (item.kind === "group" && item.group && isPlainObject(row)) return objectToView(item.group, row, true);
      return valueToView(item, row);
    });
  }
  if (p.kind === "group" && p.group && isPlainObject(value)) return objectToView(p.group, value, true);
  return value;
}

export function objectToView(spec: ObjectSpec, raw: JsonObject, keepExtras: boolean): JsonObject {
  const view: JsonObject = {};
  if (keepExtras) for (const [k, v] of Object.entries(raw)) if (!spec.consumed.includes(k)) view[k] = v;
  for (const p of spec.props) {
    const v = propToView(p, raw);
    if (v !== undefined) view[p.key] = v;
  }
  return view;
}

// ---- view -> raw ----

function valueFromView(p: PropSpec, value: unknown): unknown {
  if (p.kind === "rows" && p.item && Array.isArray(value)) {
    const item = p.item;
    return value.map((row) => {
      if (item.kind === "group" && item.group && isPlainObject(row)) return objectFromView(item.group, row, true);
      return valueFromView(item, row);
    });
  }
  if (p.kind === "group" && p.group && isPlainObject(value)) return objectFromView(p.group, value, true);
  return value;
}

export function objectFromView(spec: ObjectSpec, view: JsonObject, keepExtras: boolean): JsonObject {
  const raw: JsonObject = {};
  const own = new Set(spec.props.map((p) => p.key));
  if (keepExtras) for (const [k, v] of Object.entries(view)) if (!own.has(k) && v !== undefined) raw[k] = v;
  for (const p of spec.props) {
    const v = view[p.key];
    if (v === undefined) continue;
    if (p.kind === "typed" && p.typed) {
      if (isPlainObject(v)) {
        if (v.value !== undefined) raw[p.key] = v.value;
        if (v.type !== undefined) raw[p.typed.typeField] = v.type;
      } else raw[p.key] = v;
    } else raw[p.key] = valueFromView(p, v);
  }
  return raw;
}

// ---- defaults (what the form shows for missing values) ----

function fillProp(p: PropSpec, value: unknown): unknown {
  if (p.kind === "typed" && p.typed) {
    const pair: JsonObject = isPlainObject(value) ? { ...value } : {};
    if (value !== undefined && !isPlainObject(value)) return value;
    if (pair.value === undefined && p.hasDefault) pair.value = clone(p.default);
    if (pair.type === undefined && p.typed.typeHasDefault) pair.type = clone(p.typed.typeDefault);
    return Object.keys(pair).length ? pair : undefined;
  }
  if (value === undefined) return p.hasDefault ? clone(p.default) : undefined;
  if (p.kind === "rows" && p.item && Array.isArray(value)) return value.map((row) => fillProp(p.item as PropSpec, row));
  if (p.kind === "group" && p.group && isPlainObject(value)) return fillDefaults(p.group, value);
  return value;
}

/** The view with schema defaults put in for missing values, as the form displays it. */
export function fillDefaults(spec: ObjectSpec, view: JsonObject): JsonObject {
  const out: JsonObject = { ...view };
  for (const p of spec.props) {
    const v = fillProp(p, view[p.key]);
    if (v !== undefined) out[p.key] = v;
  }
  return out;
}

// ---- public helpers ----

/** The form data for a node: its schema properties (typed pairs joined), defaults not applied. */
export function nodeToFormData(node: FlowNode, typeDef: NodeTypeDef | undefined): JsonObject {
  const spec = specFor(node, typeDef);
  return spec ? objectToView(spec.root, node, false) : {};
}

/**
 * Take the original value where the new one equals what the form started with, so untouched
 * parts come back byte for byte (missing keys stay missing, "5" stays "5").
 */
export function restore(orig: unknown, base: unknown, next: unknown): unknown {
  if (deepEqual(next, base)) return orig;
  if (Array.isArray(next)) {
    const baseArr = Array.isArray(base) ? base : [];
    const origArr = Array.isArray(orig) ? orig : [];
    const used = new Set<number>();
    return next.map((item, i) => {
      // A row the user only moved: find it among the original rows, preferring its old slot.
      const candidates = [i, ...baseArr.keys()];
      const j = candidates.find((c) => c < baseArr.length && c < origArr.length && !used.has(c) && deepEqual(item, baseArr[c]));
      if (j !== undefined) {
        used.add(j);
        return origArr[j];
      }
      return restore(origArr[i], baseArr[i], item);
    });
  }
  if (isPlainObject(next)) {
    const o = isPlainObject(orig) ? orig : {};
    const b = isPlainObject(base) ? base : {};
    const out: JsonObject = {};
    for (const k of Object.keys(o)) {
      if (next[k] !== undefined) out[k] = restore(o[k], b[k], next[k]);
      else if (!(k in b) || b[k] === undefined) out[k] = o[k]; // not something the form showed
    }
    for (const k of Object.keys(next)) {
      if (k in o || next[k] === undefined) continue;
      const v = restore(undefined, b[k], next[k]);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
  return next;
}

/**
 * The node with the form's values written back. `base` is the form data as the form first
 * showed it (with defaults); pass the form's own initial state when you have it.
 */
export function formDataToNode(node: FlowNode, formData: JsonObject, typeDef: NodeTypeDef | undefined, base?: JsonObject): FlowNode {
  const spec = specFor(node, typeDef);
  if (!spec) return { ...node };
  const baseView = base ?? fillDefaults(spec.root, nodeToFormData(node, typeDef));
  const nextRaw = objectFromView(spec.root, formData, false);
  const baseRaw = objectFromView(spec.root, baseView, false);
  const out: FlowNode = { ...node };
  const keys = new Set([...Object.keys(baseRaw), ...Object.keys(nextRaw)]);
  for (const k of keys) {
    if (k === "id" || k === "type" || k === "credentials") continue; // identity and secrets never come from the form
    if (deepEqual(nextRaw[k], baseRaw[k])) continue;
    if (nextRaw[k] === undefined) delete out[k];
    else out[k] = restore(node[k], baseRaw[k], nextRaw[k]);
  }
  return out;
}
