// For node types the palette doesn't know: edit the node's own properties as JSON, so nothing is
// ever uneditable. Identity, position and wiring stay as they are.
import { useMemo, useState, type JSX } from "react";
import type { FlowNode, Problem } from "../types";
import { isPlainObject } from "./convert";
import { applyRawProps, editableProps } from "./raw";
import { PanelShell } from "./PanelShell";
import { placeProblems } from "./problems";

interface Props {
  node: FlowNode;
  problems: Problem[];
  onApply(updated: FlowNode): void;
  onCancel(): void;
  onDelete?(): void;
}

export function RawNodeEditor({ node, problems, onApply, onCancel, onDelete }: Props): JSX.Element {
  const initial = useMemo(() => JSON.stringify(editableProps(node), null, 2), [node]);
  const [text, setText] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const placed = useMemo(() => placeProblems(problems, null, node.id), [problems, node.id]);

  const done = (): void => {
    if (text === initial) {
      onApply({ ...node });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      setError(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (!isPlainObject(parsed)) {
      setError("the properties must be a JSON object");
      return;
    }
    onApply(applyRawProps(node, parsed));
  };

  return (
    <PanelShell
      title={node.type}
      subtitle={typeof node.name === "string" && node.name ? node.name : node.id}
      messages={placed.top}
      notice={<div className="nf-notice">This node type is not in the palette: its properties are edited as JSON.</div>}
      onDone={done}
      onCancel={onCancel}
      onDelete={onDelete}
    >
      <div className={`nf-field${error ? " nf-invalid" : ""}`} data-field="__raw">
        <label className="nf-label" htmlFor="nf-raw-json">Properties</label>
        <textarea
          id="nf-raw-json"
          className="nf-input nf-textarea nf-mono"
          rows={Math.min(24, Math.max(8, text.split("\n").length + 1))}
          value={text}
          spellCheck={false}
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
          }}
        />
        {error && <ul className="nf-errors" role="alert"><li>{error}</li></ul>}
      </div>
    </PanelShell>
  );
}
