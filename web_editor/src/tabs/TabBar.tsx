// The tab strip: flows in document order, then open subflow definitions. Double-click renames,
// drag reorders, and the buttons at the end act on the shown tab (big enough for fingers).
import { memo, useMemo, useState, type DragEvent } from "react";
import { byId, tabsOf } from "../store/docIndex";
import { openEditor } from "../panel/panelGuard";
import { useEditor } from "../store/editorStore";
import { setSubflowPorts, setSubflowStatus } from "../store/subflows";
import {
  addTab, closeSubflow, deleteTab, dropTabBefore, renameTab, shiftTab, showTab, toggleTabDisabled,
} from "../store/tabs";
import type { FlowNode } from "../types";
import { EditIcon, LeftIcon, PauseIcon, PlayIcon, PlusIcon, RightIcon, TrashIcon } from "../ui/icons";

const TAB_MIME = "application/x-flowengine-tab";

const Tab = memo(function Tab({ tab, active }: { tab: FlowNode; active: boolean }) {
  const [editing, setEditing] = useState(false);
  const isSubflow = tab.type === "subflow";
  const label = String((isSubflow ? tab.name : tab.label) ?? tab.id);
  const finish = (value: string | null) => {
    setEditing(false);
    if (value !== null && value.trim()) renameTab(tab.id, value.trim());
  };
  const onDrop = (ev: DragEvent) => {
    const id = ev.dataTransfer.getData(TAB_MIME);
    if (!id || isSubflow) return;
    ev.preventDefault();
    dropTabBefore(id, tab.id);
  };
  const classes = ["fe-tab"];
  if (active) classes.push("fe-tab-active");
  if (tab.disabled === true) classes.push("fe-tab-disabled");
  if (isSubflow) classes.push("fe-tab-subflow");
  return (
    <div className={classes.join(" ")} data-testid="tab" data-tab-id={tab.id} data-disabled={tab.disabled === true ? "true" : "false"}
      draggable={!isSubflow && !editing} role="tab" aria-selected={active}
      onDragStart={(ev) => ev.dataTransfer.setData(TAB_MIME, tab.id)}
      onDragOver={(ev) => { if (ev.dataTransfer.types.includes(TAB_MIME)) ev.preventDefault(); }}
      onDrop={onDrop}
      onClick={() => showTab(tab.id)} onDoubleClick={() => setEditing(true)}>
      {isSubflow ? <span className="fe-tab-kind">▣</span> : null}
      {editing ? (
        <input className="fe-tab-input" autoFocus defaultValue={label} data-testid="tab-rename-input"
          onBlur={(e) => finish(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") finish(e.currentTarget.value);
            if (e.key === "Escape") finish(null);
          }} />
      ) : <span className="fe-tab-label">{label}</span>}
      {isSubflow ? (
        <button type="button" className="fe-tab-close" title="Close" data-testid="tab-close"
          onClick={(e) => { e.stopPropagation(); closeSubflow(tab.id); }}>×</button>
      ) : null}
    </div>
  );
});

function SubflowPortsControl({ sf }: { sf: FlowNode }) {
  const ins = Array.isArray(sf.in) ? sf.in.length : 0;
  const outs = Array.isArray(sf.out) ? sf.out.length : 0;
  const hasStatus = !!sf.status && typeof sf.status === "object";
  return (
    <div className="fe-subflow-ports" data-testid="subflow-ports">
      <label>inputs
        <select value={ins} onChange={(e) => setSubflowPorts("in", Number(e.target.value))} data-testid="subflow-inputs">
          <option value={0}>0</option>
          <option value={1}>1</option>
        </select>
      </label>
      <label>outputs
        <button type="button" className="fe-small-button" aria-label="Remove an output" data-testid="subflow-output-remove"
          onClick={() => setSubflowPorts("out", outs - 1)} disabled={outs === 0}>−</button>
        <span data-testid="subflow-outputs">{outs}</span>
        <button type="button" className="fe-small-button" aria-label="Add an output" data-testid="subflow-output-add"
          onClick={() => setSubflowPorts("out", outs + 1)}>+</button>
      </label>
      <label title="A status output: the status of the node wired to it becomes the instance's status">status
        <input type="checkbox" checked={hasStatus} onChange={(e) => setSubflowStatus(e.target.checked)} data-testid="subflow-status" />
      </label>
      <button type="button" className="fe-small-button" data-testid="subflow-properties"
        onClick={() => openEditor(sf.id)}>properties</button>
    </div>
  );
}

export function TabBar() {
  const doc = useEditor((s) => s.doc);
  const active = useEditor((s) => s.activeTab);
  const openSubflows = useEditor((s) => s.openSubflows);
  const tabs = useMemo(() => tabsOf(doc), [doc]);
  const index = byId(doc);
  const subflows = openSubflows.map((id) => index.get(id)).filter((n): n is FlowNode => !!n);
  const current = index.get(active);
  const isTab = current?.type === "tab";
  return (
    <div className="fe-tabbar" role="tablist">
      <div className="fe-tabs"
        onDragOver={(ev) => { if (ev.dataTransfer.types.includes(TAB_MIME)) ev.preventDefault(); }}
        onDrop={(ev) => {
          const id = ev.dataTransfer.getData(TAB_MIME);
          if (id && ev.target === ev.currentTarget) {
            ev.preventDefault();
            dropTabBefore(id, null);
          }
        }}>
        {tabs.map((t) => <Tab key={t.id} tab={t} active={t.id === active} />)}
        {subflows.map((t) => <Tab key={t.id} tab={t} active={t.id === active} />)}
      </div>
      <div className="fe-tab-actions">
        {current?.type === "subflow" ? <SubflowPortsControl sf={current} /> : null}
        <button type="button" className="fe-icon-button" title="Move the flow left" data-testid="tab-move-left"
          disabled={!isTab || tabs[0]?.id === active} onClick={() => shiftTab(active, -1)}><LeftIcon /></button>
        <button type="button" className="fe-icon-button" title="Move the flow right" data-testid="tab-move-right"
          disabled={!isTab || tabs[tabs.length - 1]?.id === active} onClick={() => shiftTab(active, 1)}><RightIcon /></button>
        <button type="button" className="fe-icon-button" data-testid="tab-toggle-disabled" disabled={!isTab}
          title={current?.disabled === true ? "Enable the flow" : "Disable the flow"}
          onClick={() => toggleTabDisabled(active)}>{current?.disabled === true ? <PlayIcon /> : <PauseIcon />}</button>
        <button type="button" className="fe-icon-button" title="Flow properties" data-testid="tab-edit" disabled={!current}
          onClick={() => openEditor(active)}><EditIcon /></button>
        <button type="button" className="fe-icon-button" title="Delete the flow" data-testid="tab-delete" disabled={!current}
          onClick={() => deleteTab(active)}><TrashIcon /></button>
        <button type="button" className="fe-icon-button" title="Add a flow" data-testid="tab-add" onClick={() => addTab()}><PlusIcon /></button>
      </div>
    </div>
  );
}
