import type { NodeFormContext } from "../context";
import type { PropSpec } from "../spec";

/** Props of every leaf editor. Values are JSON from the node document, hence `unknown`. */
export interface LeafProps {
  id: string;
  spec: PropSpec;
  value: unknown;
  onChange(value: unknown): void;
  compact: boolean;
  invalid: boolean;
  context: NodeFormContext;
  disabled?: boolean;
}

/** The text shown for a raw value (Node-RED mixes strings, numbers and booleans). */
export function displayText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** Keep the kind of the previous value when the new text still fits it: 5 stays a number, "5" a string. */
export function coerceLike(prev: unknown, text: string): unknown {
  if (typeof prev === "number" && text.trim() !== "" && Number.isFinite(Number(text))) return Number(text);
  if (typeof prev === "boolean" && (text === "true" || text === "false")) return text === "true";
  return text;
}
