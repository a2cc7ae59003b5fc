// The node configuration panel: a form generated from the node type's JSON Schema, a JSON
// editor for types the palette doesn't know. The host renders it beside the canvas and applies
// `onApply(updated)` to the document.
import type { JSX } from "react";
import type { FlowNode, NodeTypeDef, Problem } from "../types";
import { specFor } from "./convert";
import { RawNodeEditor } from "./RawNodeEditor";
import { SchemaNodeForm } from "./SchemaNodeForm";
import "./form.css";

export interface NodeEditorPanelProps {
  node: FlowNode;
  typeDef: NodeTypeDef | undefined;
  configNodes: FlowNode[];
  problems: Problem[];
  onApply(updated: FlowNode): void;
  onCancel(): void;
  onDelete?(): void;
  onAddConfigNode?(type: string): FlowNode | void;
  onEditConfigNode?(id: string): void;
  /** Whether the form now differs from what it showed first (reported on every change). */
  onDirtyChange?(dirty: boolean): void;
}

export function NodeEditorPanel(props: NodeEditorPanelProps): JSX.Element {
  const { node, typeDef } = props;
  // specFor caches by content, so a host that rebuilds typeDef on every render keeps the same spec.
  const spec = specFor(node, typeDef);
  // Keyed by node id: opening another node starts a fresh form, re-renders of this one keep the edits.
  if (!spec) {
    // The JSON editor counts as changed once its text was typed into.
    const onDirty = props.onDirtyChange;
    return (
      <div style={{ display: "contents" }} onInput={onDirty ? () => onDirty(true) : undefined}>
        <RawNodeEditor key={node.id} node={node} problems={props.problems} onApply={props.onApply} onCancel={props.onCancel} onDelete={props.onDelete} />
      </div>
    );
  }
  return <SchemaNodeForm key={`${node.id}:${node.type}`} {...props} spec={spec} />;
}
