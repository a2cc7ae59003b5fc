// Small live parts of a node, each subscribed to just its own slice of the store so a status
// frame re-renders one badge, not the canvas.
import { memo, useState, type MouseEvent } from "react";
import { injectNode } from "../api";
import { byId } from "../store/docIndex";
import { toast, useEditor } from "../store/editorStore";

export const StatusBadge = memo(function StatusBadge({ id, top }: { id: string; top: number }) {
  const status = useEditor((s) => s.status[id]);
  if (!status || (!status.text && !status.fill)) return null;
  const fill = status.fill ?? "grey";
  const shape = status.shape ?? "dot";
  return (
    <div className="fe-status" style={{ top }} data-testid="node-status" data-fill={fill} data-shape={shape}>
      <span className={`fe-status-mark fe-fill-${fill} fe-shape-${shape}`} />
      {status.text ? <span className="fe-status-text">{status.text}</span> : null}
    </div>
  );
});

/** Fires an inject node on the server; only offered when the node runs as drawn. */
export const InjectButton = memo(function InjectButton({ id, height }: { id: string; height: number }) {
  const deployed = useEditor((s) => s.rev !== null && s.baseline.has(id) && s.baseline.get(id) === byId(s.doc).get(id));
  const [busy, setBusy] = useState(false);
  const fire = (ev: MouseEvent) => {
    ev.stopPropagation();
    if (!deployed || busy) return;
    setBusy(true);
    injectNode(id)
      .catch((err: unknown) => toast(`Inject failed: ${err instanceof Error ? err.message : String(err)}`, "error"))
      .finally(() => setBusy(false));
  };
  return (
    <button
      type="button"
      className={`fe-inject nodrag nopan${deployed ? "" : " fe-inject-off"}`}
      style={{ height: height - 6 }}
      data-testid="inject-button"
      data-enabled={deployed ? "true" : "false"}
      disabled={!deployed}
      title={deployed ? "Inject now" : "Deploy first: the node has undeployed changes"}
      onClick={fire}
      onDoubleClick={(ev) => ev.stopPropagation()}
    >
      <span className="fe-inject-mark" />
    </button>
  );
});

/** Blue dot for a node changed since the last load or deploy. */
export const ModifiedDot = memo(function ModifiedDot({ id }: { id: string }) {
  const modified = useEditor((s) => byId(s.doc).get(id) !== s.baseline.get(id));
  return modified ? <span className="fe-modified" data-testid="node-modified" /> : null;
});
