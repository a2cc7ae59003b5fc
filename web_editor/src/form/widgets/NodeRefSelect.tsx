// A config-node reference: pick one of the config nodes of the required type, none, or add a new one.
import { useState, type JSX } from "react";
import type { FlowNode } from "../../types";
import type { LeafProps } from "./types";

const ADD = "\u0000add";

export function configNodeLabel(n: FlowNode): string {
  return typeof n.name === "string" && n.name.trim() ? n.name : `${n.type} ${n.id}`;
}

export function NodeRefSelect(p: LeafProps): JSX.Element {
  const refType = p.spec.nodeRef?.type ?? "";
  const required = p.spec.nodeRef?.required ?? false;
  // Nodes added from here show at once, before the document round-trips through the parent.
  const [added, setAdded] = useState<FlowNode[]>([]);
  const candidates = [...p.context.configNodes, ...added.filter((a) => !p.context.configNodes.some((n) => n.id === a.id))]
    .filter((n) => n.type === refType);
  const value = typeof p.value === "string" ? p.value : "";
  const missing = value !== "" && !candidates.some((n) => n.id === value);
  const add = p.context.addConfigNode;
  const editConfig = p.context.editConfigNode;

  const select = (
    <select
      id={p.id}
      className="nf-input nf-select"
      value={value}
      title={p.compact ? p.spec.title : undefined}
      aria-invalid={p.invalid || undefined}
      disabled={p.disabled}
      data-node-ref={refType}
      onChange={(e) => {
        if (e.target.value !== ADD) {
          p.onChange(e.target.value);
          return;
        }
        const created = add?.(refType);
        if (created) {
          setAdded((list) => [...list, created]);
          p.onChange(created.id);
          editConfig?.(created.id); // a new broker/TLS node needs its settings first, as in Node-RED
        }
      }}
    >
      {(!required || value === "") && <option value="">{required ? `— choose ${refType} —` : "none"}</option>}
      {missing && <option value={value}>{`${value} (missing)`}</option>}
      {candidates.map((n) => (
        <option key={n.id} value={n.id}>
          {configNodeLabel(n)}
        </option>
      ))}
      {add && <option value={ADD}>{`add new ${refType}…`}</option>}
    </select>
  );
  if (!editConfig) return select;
  return (
    <span className="nf-ref">
      {select}
      <button type="button" className="nf-btn nf-ref-edit" disabled={p.disabled || value === "" || missing}
              title={`Edit this ${refType}`} aria-label={`Edit this ${refType}`} data-testid="edit-config-node"
              onClick={() => editConfig(value)}>
        ✎
      </button>
    </span>
  );
}
