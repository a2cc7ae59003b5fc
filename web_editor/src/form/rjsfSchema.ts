// The JSON Schema and uiSchema handed to rjsf, generated from the field model. rjsf draws the
// structure (objects, rows with add/remove/reorder, error placement) and our NodeFormField
// draws every leaf, so the schema only keeps what rjsf needs: titles, defaults and shapes.
// Formats, x-* keys and node_ref's boolean `required` never reach ajv.
import type { RJSFSchema, UiSchema } from "@rjsf/utils";
import type { ObjectSpec, PropSpec } from "./spec";

export const LEAF_FIELD = "NodeFormField";

/** What each leaf and container finds in its `ui:options`. */
export type NodeFormUiOptions = {
  spec?: PropSpec;
  /** Inside a row: render inline, label as placeholder. */
  compact?: boolean;
};

function propSchema(p: PropSpec): RJSFSchema {
  const base: RJSFSchema = { title: p.title };
  if (p.kind === "rows" && p.item) {
    return { ...base, type: p.nullable ? ["array", "null"] : "array", items: propSchema(p.item) };
  }
  if (p.kind === "group" && p.group) {
    return { ...objectSchema(p.group), ...base, type: p.nullable ? ["object", "null"] : "object" };
  }
  if (p.kind === "typed" && p.typed) {
    return {
      ...base,
      type: "object",
      properties: {
        value: p.hasDefault ? { default: p.default as RJSFSchema["default"] } : {},
        type: p.typed.typeHasDefault ? { default: p.typed.typeDefault as RJSFSchema["default"] } : {},
      },
    };
  }
  return p.hasDefault ? { ...base, default: p.default as RJSFSchema["default"] } : base;
}

export function objectSchema(spec: ObjectSpec): RJSFSchema {
  const properties: Record<string, RJSFSchema> = {};
  for (const p of spec.props) properties[p.key] = propSchema(p);
  const required = spec.props.filter((p) => p.required && !p.hasDefault && p.kind !== "typed").map((p) => p.key);
  return required.length ? { type: "object", properties, required } : { type: "object", properties };
}

function propUi(p: PropSpec, compact: boolean): UiSchema {
  const options: NodeFormUiOptions = { spec: p, compact };
  if (p.kind === "rows" && p.item) {
    const item = p.item;
    return {
      "ui:options": { ...options, orderable: true, addable: true, removable: true },
      items: item.kind === "group" && item.group ? objectUi(item.group, true) : propUi(item, true),
    };
  }
  if (p.kind === "group" && p.group) return { ...objectUi(p.group, compact), "ui:options": options };
  return { "ui:field": LEAF_FIELD, "ui:options": options };
}

export function objectUi(spec: ObjectSpec, compact: boolean): UiSchema {
  const ui: UiSchema = { "ui:options": { compact } satisfies NodeFormUiOptions };
  for (const p of spec.props) ui[p.key] = propUi(p, compact);
  return ui;
}

export function rootUi(spec: ObjectSpec): UiSchema {
  return { ...objectUi(spec, false), "ui:submitButtonOptions": { norender: true } };
}
