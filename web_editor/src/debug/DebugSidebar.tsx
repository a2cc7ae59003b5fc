// The debug sidebar: messages from debug nodes, newest at the bottom. Pause freezes the view;
// messages keep arriving into the store's bounded buffer (the last 1,000) and show on resume.
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { revealNode } from "../canvas/reveal";
import { byId } from "../store/docIndex";
import { useEditor } from "../store/editorStore";
import { clearDebug } from "../store/runtime";
import type { DebugEntry } from "../types";

export const TRUNCATE_AT = 300;
/** Rows drawn by default: drawing all 1,000 kept messages on every batch slows a busy page. */
export const SHOWN_ROWS = 200;
type Filter = "all" | "selected" | "tab";

const DebugMessage = memo(function DebugMessage({ m, name }: { m: DebugEntry; name: string }) {
  const [expanded, setExpanded] = useState(false);
  const long = m.msg.length > TRUNCATE_AT;
  const text = long && !expanded ? `${m.msg.slice(0, TRUNCATE_AT)}…` : m.msg;
  const time = m.ts ? new Date(m.ts * 1000).toLocaleTimeString() : "";
  return (
    <div className="fe-debug-msg" data-testid="debug-message" data-node-id={m.id}>
      <div className="fe-debug-meta">
        <span className="fe-debug-time">{time}</span>
        <button type="button" className="fe-link-button" data-testid="debug-node" onClick={() => revealNode(m.id)}
          title="Show the node">{name}</button>
      </div>
      <div className="fe-debug-prop">
        {m.topic !== undefined && m.topic !== null && m.topic !== "" ? <span>{`topic: ${String(m.topic)} · `}</span> : null}
        <span>{`msg.${m.property || "payload"}`}</span>
        {m.format ? <span className="fe-debug-format">{` : ${m.format}`}</span> : null}
      </div>
      <pre className="fe-debug-value" data-testid="debug-value">{text}</pre>
      {long ? (
        <button type="button" className="fe-link-button" data-testid="debug-more" onClick={() => setExpanded(!expanded)}>
          {expanded ? "show less" : `show more (${m.msg.length} chars)`}
        </button>
      ) : null}
    </div>
  );
});

export function DebugSidebar() {
  const all = useEditor((s) => s.debug);
  const selection = useEditor((s) => s.selection);
  const tab = useEditor((s) => s.activeTab);
  const doc = useEditor((s) => s.doc);
  const [filter, setFilter] = useState<Filter>("all");
  const [paused, setPaused] = useState(false);
  const [rows, setRows] = useState(SHOWN_ROWS);
  const frozen = useRef<DebugEntry[]>(all);
  if (!paused) frozen.current = all;
  const source = paused ? frozen.current : all;
  const waiting = paused ? all.filter((m) => m.seq > (frozen.current[frozen.current.length - 1]?.seq ?? 0)).length : 0;

  const shown = useMemo(() => {
    if (filter === "selected") return source.filter((m) => selection.has(m.id));
    if (filter === "tab") return source.filter((m) => m.z === tab);
    return source;
  }, [source, filter, selection, tab]);

  const visible = shown.length > rows ? shown.slice(shown.length - rows) : shown;
  const older = shown.length - visible.length;
  const index = byId(doc);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  // Follow new messages while the list is scrolled to the bottom.
  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [visible]);
  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const onScroll = () => { stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8; };
    el.addEventListener("scroll", onScroll);
    return () => el.removeEventListener("scroll", onScroll);
  }, []);

  return (
    <section className="fe-debug" data-testid="debug-sidebar">
      <div className="fe-debug-toolbar">
        <select className="fe-select" value={filter} onChange={(e) => setFilter(e.target.value as Filter)}
          data-testid="debug-filter" aria-label="Show messages from">
          <option value="all">all nodes</option>
          <option value="selected">selected nodes</option>
          <option value="tab">current flow</option>
        </select>
        <button type="button" className={`fe-button${paused ? " fe-button-on" : ""}`} data-testid="debug-pause"
          aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? `Resume${waiting ? ` (${waiting})` : ""}` : "Pause"}
        </button>
        <button type="button" className="fe-button" data-testid="debug-clear"
          onClick={() => { frozen.current = []; setRows(SHOWN_ROWS); clearDebug(); }}>
          Clear
        </button>
      </div>
      <div className="fe-debug-list" ref={list}>
        {older > 0 ? (
          <button type="button" className="fe-link-button fe-debug-older" data-testid="debug-older"
            onClick={() => { stick.current = false; setRows(rows + older); }}>
            {`show ${older} older message${older === 1 ? "" : "s"}`}
          </button>
        ) : null}
        {visible.map((m) => {
          const node = index.get(m.id);
          const name = m.name || (node ? String(node.name || node.type) : m.id);
          return <DebugMessage key={m.seq} m={m} name={name} />;
        })}
        {shown.length === 0 ? <div className="fe-empty">No debug messages{filter !== "all" ? " for this filter" : ""}.</div> : null}
      </div>
    </section>
  );
}
