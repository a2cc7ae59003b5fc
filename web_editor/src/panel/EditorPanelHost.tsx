// Hosts the node editing panel (form/NodeEditorPanel) for the node being edited.
import { useMemo } from "react";
import { NodeEditorPanel } from "../form/NodeEditorPanel";
import { byId, isConfigNode } from "../store/docIndex";
import { addConfigNode, applyNodeEdit } from "../store/edits";
import { deleteNodes } from "../store/docOps";
import { commit, getState, setState, useEditor } from "../store/editorStore";
import { deleteTab } from "../store/tabs";
import type { Problem } from "../types";
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
  if (!node) return null;
  const typeDef = types.get(node.type) ?? syntheticType(node, index);
  const close = () => setState({ editing: null });
  const onDelete = () => {
    close();
    if (node.type === "tab" || node.type === "subflow") deleteTab(node.id);
    else commit(deleteNodes(getState().doc, [node.id]), { selection: [] });
  };
  return (
    <div className="fe-panel-host" data-testid="node-panel" data-node-id={node.id}>
      <NodeEditorPanel
        key={node.id}
        node={node}
        typeDef={typeDef}
        configNodes={configNodes}
        problems={problems}
        onApply={(updated) => { applyNodeEdit(updated); close(); }}
        onCancel={close}
        onDelete={onDelete}
        onAddConfigNode={addConfigNode}
      />
    </div>
  );
}
