// The React Flow node components: flow nodes, junctions, comments, groups and subflow ports.
// Sizes come from the document (see store/geometry.ts), never from measuring the DOM.
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { FlowNodeData, GroupData, LinkOffData, PortData } from "../store/derive";
import { useEditor } from "../store/editorStore";
import { outputPortY } from "../store/geometry";
import { isImageIcon, safeColor } from "../store/looks";
import { InjectButton, ModifiedDot, StatusBadge } from "./NodeBadges";
import { revealNode } from "./reveal";

const NO_PROBLEMS: never[] = [];

function useProblemTitle(id: string): string | null {
  const problems = useEditor((s) => s.problemsByNode.get(id) ?? NO_PROBLEMS);
  if (!problems.length) return null;
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("\n");
}

function Ports({ inputs, outputs, height }: { inputs: number; outputs: number; height: number }) {
  const outs = [];
  for (let i = 0; i < outputs; i++) {
    outs.push(
      <Handle key={i} id={`o${i}`} type="source" position={Position.Right} className="fe-port"
        style={{ top: outputPortY(i, outputs, height) }} data-testid="port-out" data-port={i} />,
    );
  }
  return (
    <>
      {inputs > 0 ? (
        <Handle id="i" type="target" position={Position.Left} className="fe-port" style={{ top: height / 2 }}
          data-testid="port-in" />
      ) : null}
      {outs}
    </>
  );
}

/** Invisible anchors for the dashed link-node edges (not connectable by the user). */
function LinkAnchor({ type }: { type: string }) {
  if (type === "link in") {
    return <Handle id="link" type="target" position={Position.Left} isConnectable={false} className="fe-link-anchor" />;
  }
  return <Handle id="link" type="source" position={Position.Right} isConnectable={false} className="fe-link-anchor" />;
}

function Icon({ icon }: { icon: string }) {
  if (isImageIcon(icon)) return <img src={icon} alt="" draggable={false} />;
  return <>{icon}</>;
}

export const FlowNodeView = memo(function FlowNodeView({ id, data, selected }: NodeProps<Node<FlowNodeData, "fe">>) {
  const { node, shape, color, icon } = data;
  const problem = useProblemTitle(id);
  const compact = shape.kind === "compact";
  const classes = ["fe-node"];
  if (selected) classes.push("fe-selected");
  if (node.d === true) classes.push("fe-disabled");
  if (problem) classes.push("fe-problem");
  if (shape.unknown) classes.push("fe-unknown");
  if (compact) classes.push("fe-compact");
  const isLink = node.type === "link in" || node.type === "link out" || node.type === "link call";
  return (
    <div className={classes.join(" ")} style={{ width: shape.width, height: shape.height, background: color }}
      title={problem ?? (compact ? shape.label : undefined)} data-testid="node" data-type={node.type}>
      {node.type === "inject" ? <InjectButton id={id} height={shape.height} /> : null}
      <div className="fe-node-icon"><Icon icon={icon} /></div>
      {compact ? null : <div className="fe-node-label">{shape.label}</div>}
      {compact && node.name ? <div className="fe-node-sidelabel">{String(node.name)}</div> : null}
      <Ports inputs={shape.inputs} outputs={shape.outputs} height={shape.height} />
      {isLink ? <LinkAnchor type={node.type} /> : null}
      <ModifiedDot id={id} />
      <StatusBadge id={id} top={shape.height + 3} />
    </div>
  );
});

export const JunctionView = memo(function JunctionView({ id, selected }: NodeProps<Node<FlowNodeData, "junction">>) {
  const problem = useProblemTitle(id);
  return (
    <div className={`fe-junction${selected ? " fe-selected" : ""}${problem ? " fe-problem" : ""}`} title={problem ?? undefined}
      data-testid="node" data-type="junction">
      <Handle id="i" type="target" position={Position.Left} className="fe-port fe-junction-port" />
      <Handle id="o0" type="source" position={Position.Right} className="fe-port fe-junction-port" />
    </div>
  );
});

export const CommentView = memo(function CommentView({ id, data, selected }: NodeProps<Node<FlowNodeData, "comment">>) {
  const problem = useProblemTitle(id);
  return (
    <div className={`fe-comment${selected ? " fe-selected" : ""}${problem ? " fe-problem" : ""}`}
      style={{ width: data.shape.width, height: data.shape.height }} title={problem ?? undefined}
      data-testid="node" data-type="comment">
      {data.shape.label}
      <ModifiedDot id={id} />
    </div>
  );
});

interface GroupStyle {
  stroke?: string;
  fill?: string;
  "fill-opacity"?: number | string;
  label?: boolean;
  color?: string;
}

export const GroupView = memo(function GroupView({ data, selected, width, height }: NodeProps<Node<GroupData, "group">>) {
  const style = (data.node.style ?? {}) as GroupStyle;
  const showLabel = style.label !== false;
  // Colours come from the flow: only colour syntax reaches the inline style (never `url(...)`).
  const fill = safeColor(style.fill);
  return (
    <div className={`fe-group${selected ? " fe-selected" : ""}`} data-testid="group"
      style={{
        width, height,
        borderColor: safeColor(style.stroke),
        background: fill ? withOpacity(fill, Number(style["fill-opacity"] ?? 0.5)) : undefined,
      }}>
      {showLabel && data.label ? <div className="fe-group-label" style={{ color: safeColor(style.color) }}>{data.label}</div> : null}
    </div>
  );
});

function withOpacity(color: string, opacity: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const v = parseInt(m[1], 16);
  return `rgba(${v >> 16}, ${(v >> 8) & 255}, ${v & 255}, ${Number.isFinite(opacity) ? opacity : 0.5})`;
}

export const SubflowPortView = memo(function SubflowPortView({ data, selected }: NodeProps<Node<PortData, "sfport">>) {
  const status = data.key === "status";
  return (
    <div className={`fe-sfport${status ? " fe-sfport-status" : ""}${selected ? " fe-selected" : ""}`} data-testid="subflow-port"
      data-key={data.key}>
      {data.key === "in" ? "in" : status ? "status" : data.index + 1}
      {data.key === "in"
        ? <Handle id="o0" type="source" position={Position.Right} className="fe-port" />
        : <Handle id="i" type="target" position={Position.Left} className="fe-port" />}
    </div>
  );
});

/** The end of a selected link node's stub to a partner on another tab: names the tab (and the
 * partner), and a click shows that tab with the partner selected and centred. */
export const LinkOffView = memo(function LinkOffView({ data }: NodeProps<Node<LinkOffData, "linkoff">>) {
  return (
    <div className={`fe-linkoff fe-linkoff-${data.side} nodrag nopan`} data-testid="link-offtab" data-partner={data.partner}
      data-tab-id={data.tabId} role="button" title={`Go to ${data.name || "the link node"} on ${data.tabLabel}`}
      onClick={(e) => { e.stopPropagation(); revealNode(data.partner); }}>
      {data.side === "right"
        ? <Handle id="t" type="target" position={Position.Left} isConnectable={false} className="fe-link-anchor" />
        : <Handle id="s" type="source" position={Position.Right} isConnectable={false} className="fe-link-anchor" />}
      <span className="fe-linkoff-tab">{data.tabLabel}</span>
      {data.name ? <span className="fe-linkoff-name"> · {data.name}</span> : null}
    </div>
  );
});

/** Stable at module level: React Flow re-creates every node when this object changes. */
export const nodeTypes = {
  fe: FlowNodeView,
  junction: JunctionView,
  comment: CommentView,
  group: GroupView,
  sfport: SubflowPortView,
  linkoff: LinkOffView,
};
