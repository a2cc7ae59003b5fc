// The editor's single store. The flows.json array (`doc`) is the source of truth; everything the
// canvas draws is derived from it. Edits go through `commit`, which records an undo snapshot.
import { create } from "zustand";
import type { DebugEntry, DeployType, FlowDocument, FlowNode, NodeStatus, NodeTypeDef, Problem } from "../types";
import { byId, isTab } from "./docIndex";
import { emptyHistory, record, redo as redoH, undo as undoH, type History, type Snapshot } from "./history";

export interface XY {
  x: number;
  y: number;
}

export type AuthPhase = "checking" | "login" | "ready";
export type DialogName = "import" | "export" | "search" | "conflict" | "problems" | null;

export interface Toast {
  id: number;
  text: string;
  kind: "info" | "error";
}

export interface EditorState {
  authPhase: AuthPhase;
  user: string | null;
  accounts: boolean;
  loadError: string | null;

  palette: NodeTypeDef[];
  types: ReadonlyMap<string, NodeTypeDef>;

  doc: FlowDocument;
  rev: string | null;
  /** Node objects as last loaded or deployed: a node is modified when its object differs. */
  baseline: ReadonlyMap<string, FlowNode>;
  baselineDoc: FlowDocument;
  history: History;

  activeTab: string;
  openSubflows: string[];
  selection: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  /** Top-left positions of nodes being dragged (flow coordinates); committed on drop. */
  drag: ReadonlyMap<string, XY> | null;
  editing: string | null;

  deployType: DeployType;
  deploying: boolean;
  problems: Problem[];
  problemsByNode: ReadonlyMap<string, Problem[]>;

  status: Readonly<Record<string, NodeStatus>>;
  debug: DebugEntry[];
  connected: boolean;

  toasts: Toast[];
  dialog: DialogName;
  paletteOpen: boolean;
  sidebarOpen: boolean;
  ready: boolean;
}

const EMPTY_SET: ReadonlySet<string> = new Set();

export const useEditor = create<EditorState>()(() => ({
  authPhase: "checking",
  user: null,
  accounts: false,
  loadError: null,
  palette: [],
  types: new Map(),
  doc: [],
  rev: null,
  baseline: new Map(),
  baselineDoc: [],
  history: emptyHistory,
  activeTab: "",
  openSubflows: [],
  selection: EMPTY_SET,
  selectedEdges: EMPTY_SET,
  drag: null,
  editing: null,
  deployType: "full",
  deploying: false,
  problems: [],
  problemsByNode: new Map(),
  status: {},
  debug: [],
  connected: false,
  toasts: [],
  dialog: null,
  paletteOpen: true,
  sidebarOpen: true,
  ready: false,
}));

export const getState = useEditor.getState;
export const setState = useEditor.setState;

export interface CommitOptions {
  /** The tab to show after the edit (default: stay). */
  tab?: string;
  selection?: Iterable<string>;
}

/** Applies an edit: the document before it becomes an undo step. */
export function commit(doc: FlowDocument, opts: CommitOptions = {}): void {
  const s = getState();
  if (doc === s.doc) return;
  setState({
    doc,
    history: record(s.history, { doc: s.doc, tab: s.activeTab }),
    activeTab: opts.tab ?? s.activeTab,
    selection: opts.selection ? new Set(opts.selection) : s.selection,
    selectedEdges: opts.selection ? EMPTY_SET : s.selectedEdges,
    drag: null,
  });
  ensureActiveTab();
}

export function undo(): void {
  const s = getState();
  const step = undoH(s.history, { doc: s.doc, tab: s.activeTab });
  if (!step) return;
  setState({ doc: step.snapshot.doc, history: step.history, activeTab: step.snapshot.tab, drag: null });
  ensureActiveTab();
}

export function redo(): void {
  const s = getState();
  const step = redoH(s.history, { doc: s.doc, tab: s.activeTab });
  if (!step) return;
  setState({ doc: step.snapshot.doc, history: step.history, activeTab: step.snapshot.tab, drag: null });
  ensureActiveTab();
}

/** After an edit or undo the shown tab may be gone: fall back to the first tab. */
function ensureActiveTab(): void {
  const s = getState();
  const index = byId(s.doc);
  const current = index.get(s.activeTab);
  const openSubflows = s.openSubflows.filter((id) => index.get(id)?.type === "subflow");
  if (current && (current.type === "tab" || current.type === "subflow")) {
    if (current.type === "subflow" && !openSubflows.includes(current.id)) openSubflows.push(current.id);
    if (openSubflows.length !== s.openSubflows.length || openSubflows.some((id, i) => id !== s.openSubflows[i])) {
      setState({ openSubflows });
    }
    return;
  }
  const first = s.doc.find(isTab);
  setState({ activeTab: first?.id ?? "", openSubflows });
}

/** Replaces the document wholesale (load, reload): no undo, everything counts as deployed. */
export function loadDocument(doc: FlowDocument, rev: string | null): void {
  setState({
    doc,
    rev,
    baseline: byId(doc),
    baselineDoc: doc,
    history: emptyHistory,
    selection: EMPTY_SET,
    selectedEdges: EMPTY_SET,
    drag: null,
    editing: null,
    problems: [],
    problemsByNode: new Map(),
  });
  ensureActiveTab();
}

/**
 * `sent` was deployed as `rev`: it becomes the baseline, so edits made while the request was in
 * flight stay the only modifications. The server keeps secrets in its own store, so the editor
 * drops the `credentials` it sent, from the baseline, the document and every undo snapshot (Undo
 * must not bring a typed password back). Secrets typed after the request left are kept in the
 * document (and in the snapshots that hold those very node objects): they were not sent yet.
 */
export function markDeployed(sent: FlowDocument, rev: string): void {
  const s = getState();
  const sentNodes = new Set(sent);
  const unsent = new Set(s.doc.filter((n) => n.credentials && !sentNodes.has(n)));
  const stripped = new Map<FlowNode, FlowNode>();
  const strip = (n: FlowNode): FlowNode => {
    let out = stripped.get(n);
    if (!out) {
      out = { ...n };
      delete out.credentials;
      stripped.set(n, out);
    }
    return out;
  };
  const clean = (d: FlowDocument, keep: (n: FlowNode) => boolean): FlowDocument =>
    d.some((n) => n.credentials && !keep(n)) ? d.map((n) => (n.credentials && !keep(n) ? strip(n) : n)) : d;
  const baselineDoc = clean(sent, () => false);
  const doc = s.doc === sent ? baselineDoc : clean(s.doc, (n) => !sentNodes.has(n));
  const snapshots = (list: Snapshot[]) => list.map((snap) => {
    const d = snap.doc === sent ? baselineDoc : clean(snap.doc, (n) => unsent.has(n));
    return d === snap.doc ? snap : { ...snap, doc: d };
  });
  setState({
    rev,
    doc,
    history: { past: snapshots(s.history.past), future: snapshots(s.history.future) },
    baseline: byId(baselineDoc),
    baselineDoc,
    problems: [],
    problemsByNode: new Map(),
  });
}

export function isModified(s: EditorState, id: string): boolean {
  return byId(s.doc).get(id) !== s.baseline.get(id);
}

const dirtyCache = new WeakMap<FlowDocument, { base: FlowDocument; dirty: boolean }>();

/** Whether anything differs from the deployed document (an identity check per entry). */
export function hasChanges(s: Pick<EditorState, "doc" | "baselineDoc">): boolean {
  const hit = dirtyCache.get(s.doc);
  if (hit && hit.base === s.baselineDoc) return hit.dirty;
  const a = s.doc, b = s.baselineDoc;
  let dirty = a.length !== b.length;
  for (let i = 0; !dirty && i < a.length; i++) dirty = a[i] !== b[i];
  dirtyCache.set(s.doc, { base: s.baselineDoc, dirty });
  return dirty;
}

export function setSelection(ids: Iterable<string>, edges: Iterable<string> = []): void {
  setState({ selection: new Set(ids), selectedEdges: new Set(edges) });
}

let toastSeq = 0;

export function toast(text: string, kind: Toast["kind"] = "info", ms = 3000): void {
  const id = ++toastSeq;
  setState({ toasts: [...getState().toasts.slice(-4), { id, text, kind }] });
  window.setTimeout(() => setState({ toasts: getState().toasts.filter((t) => t.id !== id) }), ms);
}

export function setProblems(problems: Problem[]): void {
  const byNode = new Map<string, Problem[]>();
  for (const p of problems) {
    if (!p.node_id) continue;
    const list = byNode.get(p.node_id);
    if (list) list.push(p);
    else byNode.set(p.node_id, [p]);
  }
  setState({ problems, problemsByNode: byNode });
}
