// The config nodes of the document (brokers, TLS settings...) by type, with how many nodes use
// each; click one to edit it in the node panel.
import { useMemo } from "react";
import { isConfigNode } from "../store/docIndex";
import { openEditor } from "../panel/panelGuard";
import { useEditor } from "../store/editorStore";
import type { FlowDocument, FlowNode } from "../types";

/** How many nodes refer to each config node (any top-level property holding its id). */
function usage(doc: FlowDocument, ids: Set<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of doc) {
    if (ids.has(n.id)) continue;
    for (const [key, value] of Object.entries(n)) {
      if (key === "id" || key === "z" || key === "g" || typeof value !== "string" || !ids.has(value)) continue;
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
  }
  return counts;
}

export function ConfigNodes() {
  const doc = useEditor((s) => s.doc);
  const { groups, counts } = useMemo(() => {
    const configs = doc.filter(isConfigNode);
    const byType = new Map<string, FlowNode[]>();
    for (const c of configs) byType.set(c.type, [...(byType.get(c.type) ?? []), c]);
    return { groups: [...byType.entries()].sort((a, b) => a[0].localeCompare(b[0])),
      counts: usage(doc, new Set(configs.map((c) => c.id))) };
  }, [doc]);
  if (!groups.length) return <div className="fe-empty">No config nodes.</div>;
  return (
    <div className="fe-config-list" data-testid="config-nodes">
      {groups.map(([type, list]) => (
        <section key={type}>
          <div className="fe-config-type">{type}</div>
          {list.map((c) => {
            const used = counts.get(c.id) ?? 0;
            return (
              <button key={c.id} type="button" className={`fe-config-item${used ? "" : " fe-config-unused"}`}
                data-testid="config-node" data-node-id={c.id} onClick={() => openEditor(c.id)}>
                <span>{String(c.name || c.id)}</span>
                <span className="fe-config-count" title="Nodes using it">{used || "unused"}</span>
              </button>
            );
          })}
        </section>
      ))}
    </div>
  );
}
