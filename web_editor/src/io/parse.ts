// Turns pasted or uploaded text into a flow document, or throws an Error a user can act on.
import type { FlowDocument, FlowNode } from "../types";

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const col = pos - before.lastIndexOf("\n");
  return `line ${line}, column ${col}`;
}

const ENDED_EARLY = /end of (JSON|data)|unterminated/i;

function failsBeforeEnd(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (e) {
    return !ENDED_EARLY.test(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Where the first syntax error is, for engines whose message does not say. A prefix that
 * only ends too early is fine; once a prefix has a real error every longer one has it too,
 * so a binary search finds the offending character.
 */
function errorOffset(text: string): number | undefined {
  if (!failsBeforeEnd(text)) return undefined;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsBeforeEnd(text.slice(0, mid + 1))) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * JSON.parse with `__proto__` keys dropped (at any depth). JSON.parse itself makes them own
 * properties, but any later `out[k] = v` copy would call the prototype setter instead: a node
 * could then inherit properties (`d`, `credentials`, ...) that the editor shows but never sends.
 */
export function parseJsonSafely(text: string): { value: unknown; dropped: number } {
  let dropped = 0;
  const value: unknown = JSON.parse(text, (key, v: unknown) => {
    if (key === "__proto__") {
      dropped++;
      return undefined; // the reviver's way of deleting the property
    }
    return v;
  });
  return { value, dropped };
}

/** The note shown when an import or paste dropped `__proto__` keys. */
export function droppedKeysNote(dropped: number): string {
  return `dropped ${dropped} "__proto__" key${dropped === 1 ? "" : "s"} (not a node property)`;
}

function parseJson(text: string): { value: unknown; dropped: number } {
  try {
    return parseJsonSafely(text);
  } catch (e) {
    // V8 quotes (part of) the whole input; a line and column are what a user can find.
    let msg = (e instanceof Error ? e.message : String(e)).replace(/, "[\s\S]*" is not valid JSON$/, "");
    const pos = /at position (\d+)/.exec(msg);
    if (!/line \d+/.test(msg)) {
      const at = pos ? Number(pos[1]) : errorOffset(text);
      if (at !== undefined) msg += ` (${lineCol(text, at)})`;
    }
    throw new Error(`not JSON: ${msg}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/** Checks one item just enough that the merge can rely on it; everything else is kept as is. */
function checkItem(item: unknown, index: number, total: number): FlowNode {
  const where = `item ${index + 1} of ${total}`;
  if (!isObject(item)) throw new Error(`${where} is ${kindOf(item)}, not a node object`);
  if (!("id" in item) || item.id === "" || item.id === null || item.id === undefined) throw new Error(`${where} has no id`);
  if (typeof item.id !== "string") throw new Error(`${where} has an id that is not a string (${JSON.stringify(item.id)})`);
  const label = `${where} (id ${JSON.stringify(item.id)})`;
  if (typeof item.type !== "string" || item.type === "") throw new Error(`${label} has no type`);
  if ("wires" in item && item.wires !== undefined) {
    const w = item.wires;
    const ok = Array.isArray(w) && w.every((port) => Array.isArray(port) && port.every((t) => typeof t === "string"));
    // Subflow definitions carry {id} objects in in/out, never in `wires`, so this holds for every type.
    if (!ok) throw new Error(`${label}: wires must be a list of lists of node ids`);
  }
  if ("z" in item && item.z !== undefined && typeof item.z !== "string") throw new Error(`${label}: z must be a string`);
  return item as FlowNode;
}

/**
 * Accepts a Node-RED export (an array of nodes), the admin API v2 shape `{flows: [...], rev}`,
 * or one node object.
 */
export function parseImport(text: string): FlowDocument {
  return parseImportChecked(text).nodes;
}

/** parseImport, also saying how many `__proto__` keys were dropped (for a note to the user). */
export function parseImportChecked(text: string): { nodes: FlowDocument; dropped: number } {
  if (text.trim() === "") throw new Error("nothing to import: the text is empty");
  const { value: data, dropped } = parseJson(text);
  let items: unknown[];
  if (Array.isArray(data)) items = data;
  else if (isObject(data) && Array.isArray(data.flows)) items = data.flows;
  else if (isObject(data) && "flows" in data) throw new Error(`"flows" must be an array of nodes, not ${kindOf(data.flows)}`);
  else if (isObject(data) && ("id" in data || "type" in data)) items = [data];
  else
    throw new Error(
      `expected an array of nodes, {"flows": [...]} or a single node object, but got ${kindOf(data)}` +
        (isObject(data) ? " without id or type" : ""),
    );
  if (items.length === 0) throw new Error("nothing to import: the list of nodes is empty");
  return { nodes: items.map((item, i) => checkItem(item, i, items.length)), dropped };
}
