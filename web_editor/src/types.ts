// Shared shapes between the editor's modules and the flowengine server API.
// The flow document is Node-RED's flows.json: a flat array of node objects.

/** One entry of a flows.json array: a tab, subflow, group, config node or flow node. */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  wires?: string[][];
  x?: number;
  y?: number;
  g?: string;
  /** Write-only secrets: sent on deploy when the user typed them, never read back. */
  credentials?: Record<string, string>;
  [prop: string]: unknown;
}

export type FlowDocument = FlowNode[];

/** A problem the server reports for a node (400 on deploy, or POST /api/v1/flows/validate). */
export interface Problem {
  node_id: string | null;
  type: string | null;
  path: string;
  message: string;
  severity?: "error" | "warning";
}

/**
 * A node type from GET /api/v1/nodes (`types[]`).
 * Schema properties may carry these extensions:
 *   node_ref: "<config type>"  -> select one of the config nodes of that type (+ "add new")
 *   "x-typed": {typeField, types[]} -> a typed input: value field + its type field (msg/flow/global/str/num/bool/json/date/env/jsonata/...)
 *   "x-hidden": true               -> not shown on its own (e.g. the type field of a typed input)
 *   "x-widget": "cron" | "topic" | "gpio-pin" | "code" | "secret" | "textarea"
 */
export interface NodeTypeDef {
  type: string;
  category: string;
  inputs: number;
  outputs: number;
  config: boolean;
  help: string;
  module: string;
  schema: JsonSchema;
  color: string;
  icon: string;
  /** Palette label (defaults to the type). */
  label: string;
  /** Secret/credential fields: name -> "text" | "password". Passwords are write-only. */
  credentials: Record<string, "text" | "password">;
}

export type JsonSchema = Record<string, unknown>;

export interface Palette {
  types: NodeTypeDef[];
  packs: { name: string; module: string; types: string[]; error: string | null }[];
}

/** A frame of the /api/v1/events websocket. */
export interface EventFrame {
  type: "debug" | "status" | "deploy" | "log" | "dropped" | "ping";
  ts: number | null;
  node_id: string | null;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** data of a `debug` frame. `msg` is the value already rendered as text by the server. */
export interface DebugData {
  id: string;
  z: string;
  name: string;
  topic?: unknown;
  property: string;
  format: string;
  msg: string;
}

/** data of a `status` frame (Node-RED status object; empty object clears it). */
export interface NodeStatus {
  fill?: "red" | "green" | "yellow" | "blue" | "grey";
  shape?: "ring" | "dot";
  text?: string;
}

/** GET /api/v1/auth/me. */
export interface AuthInfo {
  accounts: boolean;
  user: string | null;
  role: string;
  csrf_token: string | null;
}

/** Node-RED's deployment types, as sent in `Node-RED-Deployment-Type`. */
export type DeployType = "full" | "flows" | "nodes";

/** One debug message as the sidebar keeps it. */
export interface DebugEntry extends DebugData {
  seq: number;
  ts: number | null;
}
