// The editor's layout: header, palette | tabs + canvas | debug sidebar, with the node panel on
// the right while a node is edited. Until signed in and loaded, the login form or a loader.
import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { LoginForm } from "../auth/LoginForm";
import { Canvas } from "../canvas/Canvas";
import { Palette } from "../palette/Palette";
import { EditorPanelHost } from "../panel/EditorPanelHost";
import { useEditor } from "../store/editorStore";
import { boot } from "../store/session";
import { Sidebar } from "../sidebar/Sidebar";
import { TabBar } from "../tabs/TabBar";
import { Toasts } from "../ui/Toasts";
import { Dialogs } from "./Dialogs";
import { Header } from "./Header";
import { useShortcuts } from "./shortcuts";

function Workspace() {
  useShortcuts();
  const sidebarOpen = useEditor((s) => s.sidebarOpen);
  const editing = useEditor((s) => s.editing !== null);
  return (
    <div className="fe-app" data-testid="app">
      <Header />
      <div className="fe-body">
        <Palette />
        <main className="fe-main">
          <TabBar />
          <Canvas />
        </main>
        <Sidebar hidden={!sidebarOpen || editing} />
        {editing ? <EditorPanelHost /> : null}
      </div>
      <Dialogs />
      <Toasts />
    </div>
  );
}

export function App() {
  const phase = useEditor((s) => s.authPhase);
  const loadError = useEditor((s) => s.loadError);
  useEffect(() => {
    void boot();
  }, []);
  if (loadError && phase !== "ready") {
    return <div className="fe-loading" data-testid="load-error" role="alert">Cannot reach the flowengine server: {loadError}</div>;
  }
  if (phase === "login") return <><LoginForm /><Toasts /></>;
  if (phase === "checking") return <div className="fe-loading">Loading…</div>;
  return (
    <ReactFlowProvider>
      <Workspace />
    </ReactFlowProvider>
  );
}
