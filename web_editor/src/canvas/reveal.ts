// Bring a node into view: show its tab (or subflow), select it, centre the view on it.
import { byId } from "../store/docIndex";
import { rectOf, shapeContext } from "../store/derive";
import { openEditor, panelHasChanges } from "../panel/panelGuard";
import { getState, setState, toast } from "../store/editorStore";
import { openSubflow, showTab } from "../store/tabs";
import { canvasApi } from "./canvasApi";

export function revealNode(id: string): void {
  const s = getState();
  const node = byId(s.doc).get(id);
  if (!node) {
    toast(`Node ${id} is not in the flows`, "error");
    return;
  }
  if (node.type === "tab" || node.type === "subflow" || typeof node.z !== "string") {
    // Tabs, subflows and config nodes have no place on a canvas: open their properties.
    // An open panel with unapplied edits stays (openEditor says why).
    if (getState().editing !== node.id && panelHasChanges()) {
      openEditor(node.id);
      return;
    }
    if (node.type === "tab") showTab(node.id);
    if (node.type === "subflow") openSubflow(node.id);
    openEditor(node.id);
    return;
  }
  const container = byId(s.doc).get(node.z);
  if (container?.type === "subflow") openSubflow(container.id);
  else showTab(node.z);
  setState({ selection: new Set([id]), selectedEdges: new Set() });
  const r = rectOf(node, shapeContext(s.doc, s.types));
  // The tab switch sets its viewport in an effect; centre after that has run.
  requestAnimationFrame(() => requestAnimationFrame(() => canvasApi.centerOn({ x: r.x + r.w / 2, y: r.y + r.h / 2 })));
}
