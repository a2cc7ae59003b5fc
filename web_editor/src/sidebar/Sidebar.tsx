// The right-hand sidebar: debug messages or config nodes. Both stay mounted so switching keeps
// the debug view's filter and pause state.
import { useState } from "react";
import { DebugSidebar } from "../debug/DebugSidebar";
import { ConfigNodes } from "./ConfigNodes";

type View = "debug" | "config";

export function Sidebar({ hidden }: { hidden: boolean }) {
  const [view, setView] = useState<View>("debug");
  return (
    <aside className="fe-sidebar" style={hidden ? { display: "none" } : undefined}>
      <div className="fe-sidebar-tabs" role="tablist">
        <button type="button" role="tab" aria-selected={view === "debug"} data-testid="sidebar-debug"
          className={view === "debug" ? "fe-sidebar-tab fe-sidebar-tab-on" : "fe-sidebar-tab"} onClick={() => setView("debug")}>
          Debug
        </button>
        <button type="button" role="tab" aria-selected={view === "config"} data-testid="sidebar-config"
          className={view === "config" ? "fe-sidebar-tab fe-sidebar-tab-on" : "fe-sidebar-tab"} onClick={() => setView("config")}>
          Config nodes
        </button>
      </div>
      <div className="fe-sidebar-body" style={view === "debug" ? undefined : { display: "none" }}><DebugSidebar /></div>
      <div className="fe-sidebar-body" style={view === "config" ? undefined : { display: "none" }}><ConfigNodes /></div>
    </aside>
  );
}
