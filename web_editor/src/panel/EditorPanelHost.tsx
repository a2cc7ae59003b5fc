// Hosts the node editing panel (form/NodeEditorPanel) for the node being edited.
import { useCallback, useEffect, useMemo, useState } from "react";
import { NodeEditorPanel } from "../form/NodeEditorPanel";
import { byId, isConfigNode } from "../store/docIndex";
import { addConfigNode, applyNodeEdit } from "../store/edits";
import { deleteNodes } from "../store/docOps";
import { commit, getState, setState, useEditor } from "../store/editorStore";
import { deleteTab } from "../store/tabs";
import type { FlowNode, Problem } from "../types";
import { fromPanel, problemsForPanel, toPanel } from "./panelNode";
import { setPanelDirty } from "./panelGuard";
import { syntheticType } from "./syntheticTypes";

const NO_PROBLEMS: Problem[] = [];

export function EditorPanelHost() {
  const editing = useEditor((s) => s.editing);
  const doc = useEditor((s) => s.doc);
  const types = useEditor((s) => s.types);
  const problems = useEditor((s) => (s.editing ? s.problemsByNode.get(s.editing) : undefined) ?? NO_PROBLEMS);
  const index = byId(doc);
  const node = editing ? index.get(editing) : undefined;
  const configNodes = useMemo(() => doc.filter(isConfigNode), [doc]);
  // A config node opened from a field of this node's form: its panel goes on top, and this one
  // stays mounted underneath so its unsaved edits survive.
  const [child, setChild] = useState<string | null>(null);
  useEffect(() => setChild(null), [editing]);
  // Unapplied edits of either panel keep other nodes from taking over (see panelGuard).
  const [dirty, setDirty] = useState(false);
  const [childDirty, setChildDirty] = useState(false);
  useEffect(() => setDirty(false), [editing]);
  useEffect(() => setChildDirty(false), [child]);
  useEffect(() => setPanelDirty(dirty || (child !== null && childDirty)), [dirty, childDirty, child]);
  useEffect(() => () => setPanelDirty(false), []);
  const onDirtyChange = useCallback((d: boolean) => setDirty(d), []);
  const onChildDirtyChange = useCallback((d: boolean) => setChildDirty(d), []);
  const childNode = child ? index.get(child) : undefined;
  if (!node) return null;
  const typeDef = types.get(node.type) ?? syntheticType(node, index);
  const view = toPanel(node, doc, typeDef);
  // The panel edits a view of the node (switch rule rows tagged, a subflow's env listed).
  const apply = (updated: FlowNode): void => applyNodeEdit(fromPanel(updated, getState().doc));
  const close = () => setState({ editing: null });
  const onDelete = () => {
    close();
    if (node.type === "tab" || node.type === "subflow") deleteTab(node.id);
    else commit(deleteNodes(getState().doc, [node.id]), { selection: [] });
  };
  return (
    <div className="fe-panel-host" data-testid="node-panel" data-node-id={node.id}>
      {childNode && (
        <div className="fe-panel-stacked" data-testid="config-node-panel" data-node-id={childNode.id}>
          <NodeEditorPanel
            key={`child:${childNode.id}`}
            node={childNode}
            typeDef={types.get(childNode.type) ?? syntheticType(childNode, index)}
            onDirtyChange={onChildDirtyChange}
            configNodes={configNodes}
            problems={getState().problemsByNode.get(childNode.id) ?? NO_PROBLEMS}
            onApply={(updated) => { apply(updated); setChild(null); }}
            onCancel={() => setChild(null)}
            onAddConfigNode={addConfigNode}
          />
        </div>
      )}
      <div className="fe-panel-under" style={childNode ? { display: "none" } : undefined}>
      <NodeEditorPanel
        key={node.id}
        node={view}
        typeDef={typeDef}
        onDirtyChange={onDirtyChange}
        configNodes={configNodes}
        problems={problemsForPanel(problems, node, view)}
        onApply={(updated) => { apply(updated); close(); }}
        onCancel={close}
        onDelete={onDelete}
        onAddConfigNode={addConfigNode}
        onEditConfigNode={setChild}
      />
      </div>
    </div>
  );
}
