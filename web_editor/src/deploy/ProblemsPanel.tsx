// The problems a deploy was refused for; clicking one shows its node.
import { revealNode } from "../canvas/reveal";
import { byId } from "../store/docIndex";
import { setState, useEditor } from "../store/editorStore";

export function ProblemsPanel() {
  const problems = useEditor((s) => s.problems);
  const doc = useEditor((s) => s.doc);
  const index = byId(doc);
  return (
    <div className="fe-problems" data-testid="problems-panel" role="region" aria-label="Problems">
      <div className="fe-problems-head">
        <span>{problems.length} problem{problems.length === 1 ? "" : "s"}: nothing was deployed</span>
        <button type="button" className="fe-icon-button" data-testid="problems-close" title="Close"
          onClick={() => setState({ dialog: null })}>×</button>
      </div>
      <ul className="fe-problems-list">
        {problems.map((p, i) => {
          const node = p.node_id ? index.get(p.node_id) : undefined;
          const name = node ? String(node.name || node.label || node.type) : p.node_id ?? "document";
          return (
            <li key={i} className={`fe-problem-item fe-sev-${p.severity ?? "error"}`} data-testid="problem"
              data-node-id={p.node_id ?? ""} onClick={() => { if (p.node_id) revealNode(p.node_id); }}>
              <span className="fe-problem-node">{name}</span>
              {p.type ? <span className="fe-problem-type">{p.type}</span> : null}
              {p.path ? <code className="fe-problem-path">{p.path}</code> : null}
              <span className="fe-problem-msg">{p.message}</span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
