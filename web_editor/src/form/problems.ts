// Server problems ({node_id, type, path, message}) -> rjsf error trees placed under the field they name.
import type { ErrorSchema } from "@rjsf/utils";
import type { NodeTypeDef, Problem } from "../types";
import { buildFormSpec, type FormSpec, type ObjectSpec, type PropSpec } from "./spec";

/** A nested error tree in rjsf's ErrorSchema shape. */
export interface ErrorTree {
  __errors?: string[];
  [key: string]: ErrorTree | string[] | undefined;
}

export type PathSegment = string | number;

/** "rules[0].to", "rules.0.to", "rules/0/to" -> ["rules", 0, "to"]. */
export function parseProblemPath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  for (const piece of path.replace(/\[(\w+)\]/g, ".$1").split(/[./]/)) {
    if (piece === "") continue;
    out.push(/^\d+$/.test(piece) ? Number(piece) : piece);
  }
  return out;
}

export function addError(tree: ErrorTree, path: PathSegment[], message: string): void {
  let node = tree;
  for (const seg of path) {
    const key = String(seg);
    const next = node[key];
    if (next && !Array.isArray(next)) node = next;
    else {
      const created: ErrorTree = {};
      node[key] = created;
      node = created;
    }
  }
  node.__errors = [...(node.__errors ?? []), message];
}

export function mergeErrorTrees(...trees: ErrorTree[]): ErrorTree {
  const out: ErrorTree = {};
  const walk = (t: ErrorTree, path: PathSegment[]): void => {
    for (const [k, v] of Object.entries(t)) {
      if (k === "__errors" && Array.isArray(v)) for (const m of v) addError(out, path, m);
      else if (v && !Array.isArray(v)) walk(v, [...path, k]);
    }
  };
  for (const t of trees) walk(t, []);
  return out;
}

export function countErrors(tree: ErrorTree): number {
  let n = 0;
  for (const [k, v] of Object.entries(tree)) {
    if (k === "__errors" && Array.isArray(v)) n += v.length;
    else if (v && !Array.isArray(v)) n += countErrors(v);
  }
  return n;
}

export const asErrorSchema = (tree: ErrorTree): ErrorSchema => tree as ErrorSchema;

export function problemMessage(p: Problem): string {
  return p.severity === "warning" ? `warning: ${p.message}` : p.message;
}

/**
 * Where a problem path lands in the form: the view path (type fields map onto their typed
 * input, deeper paths are cut at the deepest field the form renders), a credential, or null
 * for the top of the panel.
 */
export function placeProblemPath(path: PathSegment[], spec: FormSpec):
  | { where: "field"; path: PathSegment[] }
  | { where: "credential"; key: string }
  | { where: "top" } {
  if (path.length === 0) return { where: "top" };
  const credKey = path[0] === "credentials" ? path[1] : path[0];
  if (typeof credKey === "string" && spec.credentials.some((c) => c.key === credKey)) return { where: "credential", key: credKey };
  const out: PathSegment[] = [];
  let level: ObjectSpec | null = spec.root;
  let i = 0;
  while (level && i < path.length) {
    const seg = path[i];
    const prop: PropSpec | undefined = level.props.find((p) => p.key === seg || p.typed?.typeField === seg);
    if (!prop) break;
    out.push(prop.key);
    i++;
    level = null;
    if (prop.kind === "group" && prop.group) level = prop.group;
    else if (prop.kind === "rows" && typeof path[i] === "number") {
      out.push(path[i]);
      i++;
      if (prop.item?.kind === "group" && prop.item.group) level = prop.item.group;
    }
  }
  return out.length ? { where: "field", path: out } : { where: "top" };
}

export interface PlacedProblems {
  fields: ErrorTree;
  top: string[];
  credentials: Record<string, string[]>;
}

/** Sort this node's problems into field errors, credential errors and panel-level messages. */
export function placeProblems(problems: Problem[], spec: FormSpec | null, nodeId?: string): PlacedProblems {
  const placed: PlacedProblems = { fields: {}, top: [], credentials: {} };
  for (const p of problems) {
    if (nodeId && p.node_id && p.node_id !== nodeId) continue;
    const message = problemMessage(p);
    const segments = parseProblemPath(p.path ?? "");
    if (!spec) {
      placed.top.push(p.path ? `${p.path}: ${message}` : message);
      continue;
    }
    const where = placeProblemPath(segments, spec);
    if (where.where === "field") addError(placed.fields, where.path, message);
    else if (where.where === "credential") placed.credentials[where.key] = [...(placed.credentials[where.key] ?? []), message];
    else placed.top.push(p.path ? `${p.path}: ${message}` : message);
  }
  return placed;
}

/**
 * rjsf's `extraErrors` for the server's problems. Without a type definition the path is used
 * as written; with one, type fields map onto their typed input and unknown paths go to the top
 * (the root's `__errors`).
 */
export function problemsToErrorSchema(problems: Problem[], typeDef?: NodeTypeDef): ErrorSchema {
  if (typeDef) {
    const placed = placeProblems(problems, buildFormSpec(typeDef));
    const tree = placed.fields;
    for (const m of placed.top) addError(tree, [], m);
    for (const [key, messages] of Object.entries(placed.credentials)) for (const m of messages) addError(tree, [], `${key}: ${m}`);
    return asErrorSchema(tree);
  }
  const tree: ErrorTree = {};
  for (const p of problems) addError(tree, parseProblemPath(p.path ?? ""), problemMessage(p));
  return asErrorSchema(tree);
}
