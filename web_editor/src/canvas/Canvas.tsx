// The flow canvas: React Flow, fed with nodes and edges derived from the document. React Flow
// only reports what the user did (select, drag, connect); every change goes back through the
// store, so the document stays the single source of truth.
import {
  Background, BackgroundVariant, Controls, MiniMap, ReactFlow, SelectionMode, useReactFlow,
  type Connection, type EdgeChange, type NodeChange, type Viewport,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, type DragEvent } from "react";
import { droppedKeysNote, mergeImport, parseImportChecked } from "../io/importExport";
import { openEditor } from "../panel/panelGuard";
import { deriveEdges, deriveNodes, type EditorNode } from "../store/derive";
import { byId } from "../store/docIndex";
import { addNodeAt, commitDrag, connectPorts, dragWithMembers } from "../store/edits";
import { commit, getState, setState, toast, useEditor, type XY } from "../store/editorStore";
import { registerCanvas } from "./canvasApi";
import { nodeTypes } from "./nodeViews";

export const PALETTE_MIME = "application/x-flowengine-type";

/** Positions React Flow reported during the current drag (before group members are carried). */
let reported = new Map<string, XY>();

function onNodesChange(changes: NodeChange<EditorNode>[]): void {
  let selection: Set<string> | null = null;
  let moved = false;
  let ended = false;
  for (const c of changes) {
    if (c.type === "select") {
      selection ??= new Set(getState().selection);
      if (c.selected) selection.add(c.id);
      else selection.delete(c.id);
    } else if (c.type === "position") {
      if (c.position) {
        reported.set(c.id, c.position);
        moved = true;
      }
      if (c.dragging === false) ended = true;
    }
  }
  if (selection) setState({ selection });
  if (moved) setState({ drag: dragWithMembers(reported) });
  if (ended) {
    reported = new Map();
    commitDrag();
  }
}

function onEdgesChange(changes: EdgeChange[]): void {
  let selected: Set<string> | null = null;
  for (const c of changes) {
    if (c.type !== "select") continue;
    selected ??= new Set(getState().selectedEdges);
    if (c.selected) selected.add(c.id);
    else selected.delete(c.id);
  }
  if (selected) setState({ selectedEdges: selected });
}

function onConnect(c: Connection): void {
  connectPorts(c);
}

function isValidConnection(c: Connection | { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null }): boolean {
  return c.source !== c.target && c.sourceHandle !== "link" && c.targetHandle !== "link";
}

function onNodeDoubleClick(_: unknown, node: EditorNode): void {
  if (node.type === "sfport" || node.type === "linkoff") return;
  openEditor(node.id);
}

const viewports = new Map<string, Viewport>();
const DEFAULT_VIEWPORT: Viewport = { x: 0, y: 0, zoom: 1 };
const MINIMAP_SIZE = { width: 170, height: 120 };

export function Canvas() {
  const doc = useEditor((s) => s.doc);
  const types = useEditor((s) => s.types);
  const tab = useEditor((s) => s.activeTab);
  const selection = useEditor((s) => s.selection);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const drag = useEditor((s) => s.drag);
  const tabDisabled = useEditor((s) => byId(s.doc).get(s.activeTab)?.disabled === true);
  const flow = useReactFlow();
  const wrapper = useRef<HTMLDivElement>(null);
  const pointer = useRef<{ x: number; y: number } | null>(null);

  const nodes = useMemo(() => deriveNodes({ doc, types, tab, selection, drag }), [doc, types, tab, selection, drag]);
  const edges = useMemo(() => deriveEdges(doc, tab, selection, selectedEdges), [doc, tab, selection, selectedEdges]);

  useEffect(() => {
    registerCanvas({
      centerOn: (p) => void flow.setCenter(p.x, p.y, { zoom: flow.getZoom(), duration: 0 }),
      viewCenter: () => {
        const r = wrapper.current?.getBoundingClientRect();
        if (!r) return { x: 200, y: 100 };
        return flow.screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 });
      },
      pointer: () => (pointer.current ? flow.screenToFlowPosition(pointer.current) : null),
    });
    return () => registerCanvas(null);
  }, [flow]);

  // Each tab keeps its own viewport; a tab seen for the first time starts at the origin.
  const shownTab = useRef(tab);
  useEffect(() => {
    if (shownTab.current === tab) return;
    viewports.set(shownTab.current, flow.getViewport());
    shownTab.current = tab;
    void flow.setViewport(viewports.get(tab) ?? DEFAULT_VIEWPORT);
  }, [tab, flow]);

  const onInit = useCallback(() => {
    // Ready once React Flow has laid out the first frame.
    requestAnimationFrame(() => requestAnimationFrame(() => setState({ ready: true })));
  }, []);

  const onDragOver = useCallback((ev: DragEvent) => {
    if (ev.dataTransfer.types.includes(PALETTE_MIME) || ev.dataTransfer.types.includes("Files")) {
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "copy";
    }
  }, []);

  const onDrop = useCallback((ev: DragEvent) => {
    const type = ev.dataTransfer.getData(PALETTE_MIME);
    if (type) {
      ev.preventDefault();
      addNodeAt(type, flow.screenToFlowPosition({ x: ev.clientX, y: ev.clientY }));
      return;
    }
    const file = ev.dataTransfer.files[0];
    if (file) {
      ev.preventDefault();
      void importFile(file);
    }
  }, [flow]);

  return (
    <div
      ref={wrapper}
      className={`fe-canvas${tabDisabled ? " fe-canvas-disabled" : ""}`}
      data-testid="canvas"
      onDragOver={onDragOver}
      onDrop={onDrop}
      onPointerMove={(ev) => { pointer.current = { x: ev.clientX, y: ev.clientY }; }}
      onPointerLeave={() => { pointer.current = null; }}
    >
      <ReactFlow<EditorNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onNodeDoubleClick={onNodeDoubleClick}
        onInit={onInit}
        defaultViewport={DEFAULT_VIEWPORT}
        onlyRenderVisibleElements
        connectOnClick
        selectionOnDrag
        selectionMode={SelectionMode.Partial}
        panOnDrag={[1, 2]}
        panActivationKeyCode="Space"
        selectionKeyCode="Shift"
        multiSelectionKeyCode={["Control", "Meta"]}
        deleteKeyCode={null}
        zoomOnDoubleClick={false}
        elevateNodesOnSelect={false}
        elevateEdgesOnSelect={false}
        minZoom={0.1}
        maxZoom={3}
        connectionRadius={24}
        attributionPosition="top-right"
      >
        <Background variant={BackgroundVariant.Lines} gap={20} color="#eef0f3" />
        <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={0} maskColor="rgba(230,233,238,0.6)"
          style={MINIMAP_SIZE} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

function minimapColor(n: EditorNode): string {
  if (n.type === "group") return "rgba(0,0,0,0.04)";
  if (n.type === "sfport") return "#bbb";
  if (n.type === "linkoff") return "transparent";
  return n.data.color ?? "#ccc";
}

/** A file dropped on the canvas is imported into the current tab. */
async function importFile(file: File): Promise<void> {
  try {
    const { nodes: incoming, dropped } = parseImportChecked(await file.text());
    const s = getState();
    const merged = mergeImport(s.doc, incoming, { target: "current-tab", currentTabId: s.activeTab, palette: s.palette });
    commit(merged.doc, { tab: merged.tabId, selection: merged.addedIds });
    toast(`Imported ${merged.addedIds.length} node${merged.addedIds.length === 1 ? "" : "s"} from ${file.name}`
      + (dropped ? `; ${droppedKeysNote(dropped)}` : ""));
  } catch (err) {
    toast(`Import failed: ${err instanceof Error ? err.message : String(err)}`, "error", 6000);
  }
}
