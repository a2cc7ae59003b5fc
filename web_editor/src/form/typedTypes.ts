// The value types a Node-RED TypedInput can hold, with labels and how their value is edited.

export type ValueEditor = "text" | "number" | "bool" | "json" | "expression" | "regex" | "bytes" | "secret" | "none";

interface TypeInfo {
  label: string;
  /** Shown before the value, e.g. "msg." for a message property path. */
  prefix?: string;
  editor: ValueEditor;
}

const TYPE_INFO: Record<string, TypeInfo> = {
  msg: { label: "msg.", prefix: "msg.", editor: "text" },
  flow: { label: "flow.", prefix: "flow.", editor: "text" },
  global: { label: "global.", prefix: "global.", editor: "text" },
  str: { label: "string", editor: "text" },
  num: { label: "number", editor: "number" },
  bool: { label: "boolean", editor: "bool" },
  json: { label: "JSON", editor: "json" },
  bin: { label: "buffer", editor: "bytes" },
  date: { label: "timestamp", editor: "none" },
  env: { label: "env variable", editor: "text" },
  jsonata: { label: "expression", editor: "expression" },
  re: { label: "regex", editor: "regex" },
  pay: { label: "original payload", editor: "none" },
  payl: { label: "latest payload", editor: "none" },
  nul: { label: "nothing", editor: "none" },
  prev: { label: "previous value", editor: "none" },
  full: { label: "complete msg", editor: "none" },
  null: { label: "null", editor: "none" },
  node: { label: "node", editor: "text" },
  cred: { label: "credential", editor: "secret" },
};

/** Every type name we know; used to pick type lists out of free-text descriptions. */
export const KNOWN_TYPES: readonly string[] = Object.keys(TYPE_INFO);

/** Used when the schema names a type field but lists no types. */
export const DEFAULT_TYPES: readonly string[] = [
  "msg", "flow", "global", "str", "num", "bool", "json", "bin", "date", "env", "jsonata", "re",
];

export function typeInfo(type: string): TypeInfo {
  return TYPE_INFO[type] ?? { label: type, editor: "text" };
}

/** The value to switch to when the user changes the type (keeps what still makes sense). */
export function valueForNewType(type: string, current: unknown): unknown {
  const editor = typeInfo(type).editor;
  const text = current === undefined || current === null ? "" : typeof current === "string" ? current : JSON.stringify(current);
  switch (editor) {
    case "none":
      return "";
    case "bool":
      return text === "true" || text === "false" ? text : "true";
    case "number":
      return text.trim() !== "" && Number.isFinite(Number(text)) ? text : "";
    default:
      return text;
  }
}

/** A message for a typed value the server would surely refuse, or null. The server stays the authority. */
export function checkTypedValue(type: string, value: unknown): string | null {
  const editor = typeInfo(type).editor;
  const text = value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
  switch (editor) {
    case "number":
      if (typeof value === "number") return Number.isFinite(value) ? null : "not a number";
      return text.trim() === "" || Number.isFinite(Number(text)) ? null : "not a number";
    case "bool":
      return typeof value === "boolean" || text === "true" || text === "false" ? null : "must be true or false";
    case "json":
      if (typeof value !== "string") return null;
      return jsonError(text);
    case "bytes": {
      if (typeof value !== "string" || text.trim() === "") return null;
      const err = jsonError(text);
      if (err) return err;
      const parsed: unknown = JSON.parse(text);
      const ok = Array.isArray(parsed) && parsed.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
      return ok || typeof parsed === "string" ? null : "a buffer is a JSON array of bytes (0-255) or a string";
    }
    case "regex":
      return regexError(text);
    default:
      return null;
  }
}

export function jsonError(text: string): string | null {
  if (text.trim() === "") return null; // blank is Node-RED's "empty", not a syntax error
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return `invalid JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The server compiles Python regexes; JS differs on a few constructs, so translate the common ones first. */
export function regexError(pattern: string): string | null {
  const js = pattern.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
  try {
    new RegExp(js);
    return null;
  } catch (err) {
    return `invalid regular expression: ${err instanceof Error ? err.message.replace(/^Invalid regular expression: /, "") : String(err)}`;
  }
}
