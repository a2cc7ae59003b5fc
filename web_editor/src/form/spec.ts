// Reads a node type's JSON Schema (pydantic output plus flowengine's x-* extensions) into a
// small field model the form renders from. Falls back on Node-RED naming conventions when the
// extensions are missing, so older servers still get typed inputs and selects.
import type { JsonSchema, NodeTypeDef } from "../types";
import { DEFAULT_TYPES, KNOWN_TYPES } from "./typedTypes";

export type FieldKind =
  | "text" | "number" | "boolean" | "enum" | "noderef" | "typed" | "cron" | "topic" | "gpio"
  | "code" | "textarea" | "json" | "rows" | "group";

export interface EnumOption {
  value: string | number | boolean;
  label: string;
}

export interface PropSpec {
  key: string;
  kind: FieldKind;
  title: string;
  description: string;
  hasDefault: boolean;
  default?: unknown;
  required: boolean;
  nullable: boolean;
  integer?: boolean;
  minimum?: number;
  maximum?: number;
  options?: EnumOption[];
  nodeRef?: { type: string; required: boolean };
  typed?: { typeField: string; types: string[]; typeDefault?: unknown; typeHasDefault: boolean };
  /** MQTT topic: a subscription filter (wildcards allowed) or a publish topic name. */
  topic?: "filter" | "name";
  /** rows: the spec of one row (a group for objects, else a scalar). */
  item?: PropSpec;
  /** group: the nested object's fields. */
  group?: ObjectSpec;
}

export interface ObjectSpec {
  props: PropSpec[];
  /** Raw keys this spec reads (value and type fields); anything else is passed through untouched. */
  consumed: string[];
}

export interface CredentialSpec {
  key: string;
  kind: "text" | "password";
  title: string;
  description: string;
}

export interface FormSpec {
  nodeType: string;
  root: ObjectSpec;
  credentials: CredentialSpec[];
}

type Schema = Record<string, unknown>;

const isObj = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Credentials of core types, for servers that don't serve `credentials` in the palette yet. */
const FALLBACK_CREDENTIALS: Record<string, Record<string, "text" | "password">> = {
  "mqtt-broker": { user: "text", password: "password" },
  "tls-config": { cadata: "text", certdata: "text", keydata: "text", passphrase: "password" },
};

/** Labels for Node-RED's terse property names, used only when the schema title is pydantic's automatic one. */
const TERSE_LABELS: Record<string, string> = {
  t: "Rule", p: "Property", pt: "Property type", to: "To", tot: "To type", from: "From", fromt: "From type",
  dc: "Deep copy", v: "Value", vt: "Value type", v2: "Value 2", v2t: "Value 2 type", case: "Ignore case",
  vt2: "Value 2 type", qos: "QoS", crontab: "Cron", op1: "Send", op2: "Then send",
};

/** "onceDelay" -> "Once delay". */
export function humanize(key: string): string {
  if (TERSE_LABELS[key]) return TERSE_LABELS[key];
  const words = key.replace(/_/g, " ").replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function titleFor(key: string, schema: Schema): string {
  const title = str(schema.title);
  // pydantic's automatic title is the key capitalised: make it readable instead.
  const auto = title.toLowerCase().replace(/[\s_]/g, "") === key.toLowerCase().replace(/_/g, "");
  return title && !auto ? title : humanize(key);
}

function resolveRef(schema: Schema, root: Schema, depth = 0): Schema {
  if (depth > 20) return schema;
  let out = schema;
  const ref = out.$ref;
  if (typeof ref === "string" && ref.startsWith("#/")) {
    let target: unknown = root;
    for (const part of ref.slice(2).split("/")) target = isObj(target) ? target[decodeURIComponent(part)] : undefined;
    const { $ref: _drop, ...rest } = out;
    void _drop;
    out = isObj(target) ? { ...resolveRef(target, root, depth + 1), ...rest } : rest;
  }
  // pydantic wraps a described $ref as allOf: [{$ref}].
  const allOf = out.allOf;
  if (Array.isArray(allOf) && allOf.length === 1 && isObj(allOf[0])) {
    const { allOf: _a, ...rest } = out;
    void _a;
    out = { ...resolveRef(allOf[0], root, depth + 1), ...rest };
  }
  return out;
}

interface Unwrapped {
  schema: Schema;
  nullable: boolean;
  /** More than one non-null alternative: edit as free text/JSON. */
  mixed: boolean;
}

/** Optional[X] comes as anyOf [X, {type: null}] or type: [X, "null"]: keep X and remember null is allowed. */
function unwrap(schema: Schema, root: Schema): Unwrapped {
  let s = resolveRef(schema, root);
  let nullable = false;
  let mixed = false;
  const alts = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null;
  if (alts && !alts.every((a) => isObj(a) && "const" in a)) {
    const branches = alts.filter(isObj).map((a) => resolveRef(a, root));
    const nonNull = branches.filter((b) => b.type !== "null");
    nullable = nonNull.length < branches.length;
    const { anyOf: _x, oneOf: _y, ...outer } = s;
    void _x; void _y;
    if (nonNull.length === 1) s = { ...nonNull[0], ...outer };
    else {
      mixed = nonNull.length > 1;
      const types = new Set(nonNull.map((b) => b.type));
      s = types.size === 1 && typeof nonNull[0]?.type === "string" ? { ...outer, type: nonNull[0].type } : outer;
    }
  }
  if (Array.isArray(s.type)) {
    const types = s.type.filter((t): t is string => typeof t === "string");
    nullable = nullable || types.includes("null");
    const rest = types.filter((t) => t !== "null");
    s = { ...s, type: rest.length === 1 ? rest[0] : undefined };
    mixed = mixed || rest.length > 1;
  }
  return { schema: s, nullable, mixed };
}

/** "set | change | delete" or "operator: eq | neq | else" -> options; null if the text isn't such a list. */
export function parsePipeEnum(description: string): EnumOption[] | null {
  const body = description.replace(/^[\w ]{1,30}:\s*/, "");
  const parts = body.split("|").map((p) => p.trim());
  if (parts.length < 2) return null;
  const options: EnumOption[] = [];
  for (const part of parts) {
    const m = /^([\w.$-]+)(?:\s+\(([^)]*)\))?$/.exec(part);
    if (!m) return null;
    options.push({ value: m[1], label: m[2] ? `${m[1]} (${m[2]})` : m[1] });
  }
  return options;
}

/** Type names mentioned in a type field's description ("msg | flow | global", "type of v: str num ..."). */
function typesFromDescription(description: string, siblings: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const word of description.split(/[^\w]+/)) {
    const from = siblings.get(word);
    if (from) found.push(...from); // "as op1type, plus payl": reuse the sibling's list
    else if (KNOWN_TYPES.includes(word)) found.push(word);
  }
  return [...new Set(found)];
}

/** A topic filter when the node receives from MQTT, a topic name when it publishes. */
function topicKind(nodeType: string, key: string): "filter" | "name" {
  return key === "topic" && /\bin$/.test(nodeType) ? "filter" : "name";
}

interface Ctx {
  root: Schema;
  nodeType: string;
  /** Secret-widget properties found while reading the schema: they become credentials. */
  secrets: CredentialSpec[];
  depth: number;
}

/** Fallback widgets by property name when the schema has no x-widget. */
function widgetByName(key: string, description: string, ctx: Ctx): FieldKind | null {
  const lower = key.toLowerCase();
  if (lower === "crontab" || lower === "cron" || /\bcron expression\b/i.test(description)) return "cron";
  if (/^mqtt/.test(ctx.nodeType) && (lower === "topic" || /^(birth|will|close)topic$/.test(lower))) return "topic";
  if (/gpio|rpi|pi-?pin/.test(ctx.nodeType) && (lower === "pin" || lower === "gpio")) return "gpio";
  if (["func", "initialize", "finalize", "code", "script", "template"].includes(lower)) return "code";
  return null;
}

function readProp(key: string, raw: Schema, required: boolean, ctx: Ctx): PropSpec | null {
  const { schema: s, nullable, mixed } = unwrap(raw, ctx.root);
  const description = str(s.description);
  const spec: PropSpec = {
    key,
    kind: "text",
    title: titleFor(key, s),
    description,
    hasDefault: "default" in s,
    default: s.default,
    required,
    nullable,
  };
  const widget = str(s["x-widget"]);
  if (widget === "secret") {
    ctx.secrets.push({ key, kind: "password", title: spec.title, description });
    return null;
  }
  if (typeof s.node_ref === "string") {
    // node_ref carries its own boolean `required` (not JSON Schema's list).
    const refRequired = typeof s.required === "boolean" ? s.required : required;
    return { ...spec, kind: "noderef", nodeRef: { type: s.node_ref, required: refRequired } };
  }
  const typed = s["x-typed"];
  if (isObj(typed) && typeof typed.typeField === "string") {
    const types = Array.isArray(typed.types) ? typed.types.filter((t): t is string => typeof t === "string") : [];
    return {
      ...spec, kind: "typed",
      typed: { typeField: typed.typeField, types, typeHasDefault: false }, // readObject fills the list when empty
    };
  }
  const widgetKinds: Record<string, FieldKind> = {
    cron: "cron", topic: "topic", "gpio-pin": "gpio", gpio: "gpio", code: "code", textarea: "textarea", json: "json",
  };
  if (widgetKinds[widget]) {
    const kind = widgetKinds[widget];
    return kind === "topic" ? { ...spec, kind, topic: topicKind(ctx.nodeType, key) } : { ...spec, kind };
  }
  if (Array.isArray(s.enum) || "const" in s || (Array.isArray(raw.anyOf) && raw.anyOf.every((a) => isObj(a) && "const" in a))) {
    return { ...spec, kind: "enum", options: enumOptions(s, raw) };
  }
  const type = mixed ? undefined : s.type;
  // Untyped flags ("case": false, "checkall": "true") are still flags.
  const flagDefault = typeof s.default === "boolean" || s.default === "true" || s.default === "false";
  if (type === "boolean" || (type === undefined && !mixed && flagDefault)) return { ...spec, kind: "boolean" };
  if (type === "number" || type === "integer") {
    return {
      ...spec, kind: "number", integer: type === "integer",
      minimum: typeof s.minimum === "number" ? s.minimum : undefined,
      maximum: typeof s.maximum === "number" ? s.maximum : undefined,
    };
  }
  if (type === "array") return readArray(spec, s, ctx);
  if (type === "object") {
    const group = isObj(s.properties) && Object.keys(s.properties).length > 0 && ctx.depth < 6
      ? readObject(s, { ...ctx, depth: ctx.depth + 1 }) : null;
    return group ? { ...spec, kind: "group", group } : { ...spec, kind: "json" };
  }
  if (mixed && !s.type) return { ...spec, kind: "text" };
  const byName = widgetByName(key, description, ctx);
  if (byName) return byName === "topic" ? { ...spec, kind: byName, topic: topicKind(ctx.nodeType, key) } : { ...spec, kind: byName };
  const pipe = parsePipeEnum(description);
  if (pipe) return { ...spec, kind: "enum", options: pipe };
  return spec;
}

function enumOptions(s: Schema, raw: Schema): EnumOption[] {
  const consts = Array.isArray(raw.anyOf) ? raw.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null;
  if (consts && consts.every((a) => isObj(a) && "const" in a)) {
    return consts.filter(isObj).map((a) => ({ value: a.const as EnumOption["value"], label: str(a.title) || String(a.const) }));
  }
  if ("const" in s) return [{ value: s.const as EnumOption["value"], label: String(s.const) }];
  const values = (s.enum as unknown[]).filter((v): v is EnumOption["value"] => ["string", "number", "boolean"].includes(typeof v));
  const names = Array.isArray(s["x-enumNames"]) ? s["x-enumNames"] : Array.isArray(s.enumNames) ? s.enumNames : [];
  return values.map((v, i) => ({ value: v, label: typeof names[i] === "string" ? names[i] : String(v) }));
}

function readArray(spec: PropSpec, s: Schema, ctx: Ctx): PropSpec {
  const items = isObj(s.items) ? unwrap(s.items, ctx.root).schema : {};
  let itemSchema: Schema = items;
  if (items.type === "object" && !(isObj(items.properties) && Object.keys(items.properties).length)) {
    // Free-form rows described as "[{p, v, vt}]": infer the row's fields from the description.
    const m = /\[\{\s*([\w\s,]+)\}\]/.exec(spec.description);
    if (!m) return { ...spec, kind: "json" };
    const properties: Schema = {};
    for (const name of m[1].split(",").map((n) => n.trim()).filter(Boolean)) properties[name] = { type: "string" };
    itemSchema = { ...items, properties };
  }
  const item = readProp("item", itemSchema, false, { ...ctx, depth: ctx.depth + 1 });
  if (!item || item.kind === "rows") return { ...spec, kind: "json" };
  return { ...spec, kind: "rows", item };
}

/** The fields of an object schema, with typed pairs joined and hidden type fields consumed. */
export function readObject(schema: Schema, ctx: Ctx): ObjectSpec {
  const properties = isObj(schema.properties) ? schema.properties : {};
  const requiredList = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === "string") : [];
  const keys = Object.keys(properties);
  const resolved = new Map(keys.map((k) => [k, unwrap(isObj(properties[k]) ? properties[k] : {}, ctx.root).schema]));

  // Type fields: named by x-typed, or found by convention next to their value (payload/payloadType, to/tot, v/vt).
  const typeFieldOf = new Map<string, string>();
  for (const key of keys) {
    const typed = resolved.get(key)?.["x-typed"];
    if (isObj(typed) && typeof typed.typeField === "string") typeFieldOf.set(key, typed.typeField);
  }
  const claimed = new Set(typeFieldOf.values());
  for (const key of keys) {
    if (typeFieldOf.has(key) || claimed.has(key)) continue;
    const own = resolved.get(key) ?? {};
    if (own["x-hidden"] || own.node_ref || own["x-widget"] || own.type === "array" || own.type === "object" || own.type === "boolean") continue;
    // Env entries pair value with a plain "type" ({name, type, value}).
    const candidates = key === "value" ? ["valueType", "type"] : [`${key}Type`, `${key}type`, `${key}t`];
    const partner = candidates.find(
      (c) => c !== key && resolved.has(c) && !claimed.has(c) && !typeFieldOf.has(c) && isTypeFieldSchema(resolved.get(c) ?? {}),
    );
    if (partner) {
      typeFieldOf.set(key, partner);
      claimed.add(partner);
    }
  }

  const siblingTypes = new Map<string, string[]>();
  const props: PropSpec[] = [];
  for (const key of keys) {
    const own = resolved.get(key) ?? {};
    if (claimed.has(key) || own["x-hidden"] === true) continue;
    const prop = readProp(key, isObj(properties[key]) ? properties[key] : {}, requiredList.includes(key), ctx);
    if (!prop) continue;
    const typeField = typeFieldOf.get(key);
    if (typeField) {
      const tSchema = resolved.get(typeField) ?? {};
      const declared = prop.kind === "typed" && prop.typed ? prop.typed.types : [];
      const fromText = typesFromDescription(str(tSchema.description), siblingTypes);
      const enumTypes = Array.isArray(tSchema.enum) ? tSchema.enum.filter((t): t is string => typeof t === "string") : [];
      const types = declared.length ? declared : enumTypes.length ? enumTypes : fromText.length >= 2 ? fromText : [...DEFAULT_TYPES];
      siblingTypes.set(typeField, types);
      props.push({
        ...prop,
        kind: "typed",
        typed: { typeField, types, typeDefault: tSchema.default, typeHasDefault: "default" in tSchema },
      });
    } else props.push(prop);
  }
  // Name first, as in every Node-RED edit dialog.
  props.sort((a, b) => (a.key === "name" ? -1 : b.key === "name" ? 1 : 0));
  const consumed = [...props.map((p) => p.key), ...props.flatMap((p) => (p.typed ? [p.typed.typeField] : []))];
  return { props, consumed };
}

function isTypeFieldSchema(s: Schema): boolean {
  return s.type === "string" || s.type === undefined || Array.isArray(s.enum);
}

/** The form model of a node type. */
export function buildFormSpec(typeDef: NodeTypeDef): FormSpec {
  const schema: JsonSchema = isObj(typeDef.schema) ? typeDef.schema : {};
  const ctx: Ctx = { root: schema, nodeType: typeDef.type, secrets: [], depth: 0 };
  const root = readObject(schema, ctx);
  const declared = isObj(typeDef.credentials) ? typeDef.credentials : FALLBACK_CREDENTIALS[typeDef.type] ?? {};
  const credentials: CredentialSpec[] = Object.entries(declared).map(([key, kind]) => ({
    key, kind: kind === "password" ? "password" : "text", title: humanize(key), description: "",
  }));
  for (const secret of ctx.secrets) if (!credentials.some((c) => c.key === secret.key)) credentials.push(secret);
  return { nodeType: typeDef.type, root, credentials };
}

/** A subflow instance has no schema of its own: a name and the env overrides [{name, type, value}]. */
export function subflowTypeDef(nodeType: string): NodeTypeDef {
  return {
    type: nodeType, category: "subflows", inputs: 0, outputs: 0, config: false, module: "", color: "", icon: "",
    label: nodeType, credentials: {},
    help: "A subflow instance. Environment overrides replace the subflow's env properties for this instance only.",
    schema: {
      type: "object",
      properties: {
        name: { type: "string", title: "Name", default: "" },
        env: {
          type: "array", title: "Environment overrides",
          description: "each entry overrides one env property of the subflow",
          items: {
            type: "object",
            properties: {
              name: { type: "string", title: "Name", default: "" },
              value: { title: "Value", default: "", "x-typed": { typeField: "type", types: ["str", "num", "bool", "json", "env", "jsonata", "bin"] } },
              type: { type: "string", default: "str", "x-hidden": true },
            },
          },
        },
      },
    },
  };
}
