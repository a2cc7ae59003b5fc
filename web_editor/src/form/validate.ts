// Client-side checks of the form data, for quick feedback. They never replace the server's
// validation on deploy, and the panel lets the user apply anyway.
import type { FlowNode } from "../types";
import { isPlainObject, type JsonObject } from "./convert";
import { describeCron } from "./cron";
import { addError, type ErrorTree, type PathSegment } from "./problems";
import type { ObjectSpec, PropSpec } from "./spec";
import { checkTypedValue, jsonError } from "./typedTypes";
import { validateTopic } from "./topic";

const isBlank = (v: unknown): boolean => v === undefined || v === null || (typeof v === "string" && v.trim() === "");

/** A message for one scalar/typed value, or null. */
export function checkValue(p: PropSpec, value: unknown, configNodes: FlowNode[]): string | null {
  switch (p.kind) {
    case "number": {
      if (isBlank(value)) return p.required && !p.nullable && !p.hasDefault ? "required" : null;
      const n = typeof value === "number" ? value : Number(String(value).trim());
      if (!Number.isFinite(n)) return "must be a number";
      if (p.integer && !Number.isInteger(n)) return "must be a whole number";
      if (p.minimum !== undefined && n < p.minimum) return `must be at least ${p.minimum}`;
      if (p.maximum !== undefined && n > p.maximum) return `must be at most ${p.maximum}`;
      return null;
    }
    case "noderef": {
      const id = typeof value === "string" ? value : "";
      if (id === "") return p.nodeRef?.required ? `choose a ${p.nodeRef.type} configuration` : null;
      return configNodes.some((n) => n.id === id) ? null : `configuration node ${id} does not exist`;
    }
    case "typed": {
      if (!isPlainObject(value)) return null;
      return typeof value.type === "string" ? checkTypedValue(value.type, value.value) : null;
    }
    case "cron": {
      const r = describeCron(typeof value === "string" ? value : "");
      return r.ok ? null : r.error ?? "invalid cron expression";
    }
    case "topic":
      return typeof value === "string" ? validateTopic(value, p.topic ?? "name") : null;
    case "json":
      // The JSON editor only hands over text while that text does not parse.
      return typeof value === "string" ? jsonError(value) ?? null : null;
    case "text":
    case "textarea":
    case "code":
      return p.required && !p.hasDefault && isBlank(value) ? "required" : null;
    default:
      return null;
  }
}

function walk(spec: ObjectSpec, view: JsonObject, path: PathSegment[], tree: ErrorTree, configNodes: FlowNode[]): void {
  for (const p of spec.props) {
    const value = view[p.key];
    const here = [...path, p.key];
    if (p.kind === "group" && p.group) {
      if (isPlainObject(value)) walk(p.group, value, here, tree, configNodes);
      continue;
    }
    if (p.kind === "rows" && p.item) {
      if (!Array.isArray(value)) continue;
      const item = p.item;
      value.forEach((row, i) => {
        if (item.kind === "group" && item.group) {
          if (isPlainObject(row)) walk(item.group, row, [...here, i], tree, configNodes);
        } else {
          const msg = checkValue(item, row, configNodes);
          if (msg) addError(tree, [...here, i], msg);
        }
      });
      continue;
    }
    const msg = checkValue(p, value, configNodes);
    if (msg) addError(tree, here, msg);
  }
}

/** Client-side errors of the form data, as an error tree keyed like the form. */
export function validateFormData(spec: ObjectSpec, formData: JsonObject, configNodes: FlowNode[]): ErrorTree {
  const tree: ErrorTree = {};
  walk(spec, formData, [], tree, configNodes);
  return tree;
}
