// Colour and icon of a node: the palette's own when it has them, else a fallback by type and
// category so the canvas stays readable against servers that do not send looks yet.
import type { FlowNode } from "../types";
import type { ShapeContext } from "./geometry";

const CATEGORY_COLORS: Record<string, string> = {
  common: "#a6bbcf",
  function: "#fdd0a2",
  sequence: "#e2d96e",
  parser: "#debed9",
  network: "#d8bfd8",
  storage: "#c7e9c0",
  config: "#dddddd",
  subflows: "#ddaa99",
};

const TYPE_COLORS: Record<string, string> = {
  debug: "#87a980",
  comment: "#ffffff",
  "link in": "#dddddd",
  "link out": "#dddddd",
  "link call": "#dddddd",
  junction: "#999999",
  catch: "#e49191",
  status: "#94c1d0",
  complete: "#c0edc0",
  change: "#e2d96e",
  switch: "#e2d96e",
  range: "#e2d96e",
  template: "#e2d96e",
  "python-function": "#fdd0a2",
};

/** Short glyphs for common icon names and types; anything else shows its initial. */
const GLYPHS: Record<string, string> = {
  inject: "⇥", debug: "☰", "python-function": "ƒ", function: "ƒ", change: "⇄", switch: "⇉", range: "↔",
  template: "¶", delay: "◷", trigger: "⇝", rbe: "≠", "mqtt in": "⇣", "mqtt out": "⇡", json: "{}", csv: "▦",
  split: "⋔", join: "⋈", sort: "⇅", batch: "▤", catch: "!", status: "◉", complete: "✓", "link in": "⇢",
  "link out": "⇢", "link call": "↪", comment: "", junction: "",
};

const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const FUNC_COLOR = /^(?:rgba?|hsla?)\(\s*[0-9.+\-%\s,/]*(?:deg|turn|rad|grad)?[0-9.+\-%\s,/]*\)$/i;
const NAMED_COLOR = /^[a-z]+$/i;

/**
 * A colour from flow data or the server, if it is only a colour: hex, rgb()/hsl() with numbers,
 * or a plain colour name. Anything else (`url(...)`, `var(...)`, `expression(...)`) would go
 * into an inline style as is, so it is refused: undefined.
 */
export function safeColor(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const v = value.trim();
  if (!v || v.length > 64) return undefined;
  return HEX_COLOR.test(v) || FUNC_COLOR.test(v) || NAMED_COLOR.test(v) ? v : undefined;
}

export function colorOf(node: FlowNode, ctx: ShapeContext): string {
  if (node.type.startsWith("subflow:")) {
    const sf = ctx.byId.get(node.type.slice(8));
    return safeColor(sf?.color) ?? CATEGORY_COLORS.subflows;
  }
  const def = ctx.types.get(node.type);
  const own = safeColor(def?.color);
  if (own) return own;
  if (TYPE_COLORS[node.type]) return TYPE_COLORS[node.type];
  if (!def) return "#ffffff";
  return CATEGORY_COLORS[def.category] ?? "#e0e0e0";
}

export function paletteColor(type: string, category: string, color: string | undefined): string {
  return safeColor(color) || TYPE_COLORS[type] || CATEGORY_COLORS[category] || "#e0e0e0";
}

/** An icon reference: an absolute URL or path is drawn as an image, anything else as a glyph. */
export function iconOf(node: FlowNode, ctx: ShapeContext): string {
  if (node.type.startsWith("subflow:")) return "▣";
  return glyphFor(node.type, ctx.types.get(node.type)?.icon);
}

export function glyphFor(type: string, icon: string | undefined): string {
  if (icon && isImageIcon(icon)) return icon;
  const byIcon = icon ? GLYPHS[icon.replace(/\.(svg|png)$/, "").replace(/^fa-/, "")] : undefined;
  if (byIcon !== undefined) return byIcon;
  if (GLYPHS[type] !== undefined) return GLYPHS[type];
  return type.slice(0, 1).toUpperCase();
}

/**
 * Only a same-origin absolute path is drawn as an image (a bare name such as "inject.svg" maps
 * to a glyph). Icons come from the server's palette: a URL of another host ("https:", "//host",
 * "/\\host") would make every editor that shows the node fetch it, so those are refused.
 */
export function isImageIcon(icon: string): boolean {
  return /^\/(?![/\\])[A-Za-z0-9._~!$&+,;=:@%/-]*$/.test(icon) && !icon.includes("..");
}
