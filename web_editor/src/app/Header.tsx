// The top bar: name, undo/redo, the main menu, connection state and the deploy button.
import { useEffect, useRef, useState } from "react";
import { DeployButton } from "../deploy/DeployButton";
import { redo, setState, undo, useEditor } from "../store/editorStore";
import { toggleDisabledSelection } from "../store/edits";
import { groupSelection, ungroupSelection } from "../store/groups";
import { signOut } from "../store/session";
import { createSubflowFromSelection, newSubflow } from "../store/subflows";
import { MenuIcon, RedoIcon, SidebarIcon, UndoIcon } from "../ui/icons";

interface MenuItem {
  id: string;
  label: string;
  keys?: string;
  run(): void;
}

function Menu() {
  const [open, setOpen] = useState(false);
  const accounts = useEditor((s) => s.accounts);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (ev: PointerEvent) => {
      if (!box.current?.contains(ev.target as Node)) setOpen(false);
    };
    window.addEventListener("pointerdown", close);
    return () => window.removeEventListener("pointerdown", close);
  }, [open]);
  const items: MenuItem[] = [
    { id: "import", label: "Import…", keys: "Ctrl+I", run: () => setState({ dialog: "import" }) },
    { id: "export", label: "Export…", keys: "Ctrl+E", run: () => setState({ dialog: "export" }) },
    { id: "search", label: "Search nodes…", keys: "Ctrl+F", run: () => setState({ dialog: "search" }) },
    { id: "group", label: "Group selection", keys: "Ctrl+G", run: groupSelection },
    { id: "ungroup", label: "Ungroup", keys: "Ctrl+Shift+G", run: ungroupSelection },
    { id: "toggle-disabled", label: "Disable/enable selection", run: toggleDisabledSelection },
    { id: "subflow-from-selection", label: "Selection to subflow", run: createSubflowFromSelection },
    { id: "new-subflow", label: "New subflow", run: () => void newSubflow() },
    { id: "problems", label: "Show problems", run: () => setState({ dialog: "problems" }) },
  ];
  if (accounts) items.push({ id: "logout", label: "Sign out", run: () => void signOut() });
  return (
    <div className="fe-menu" ref={box}>
      <button type="button" className="fe-icon-button" data-testid="menu-button" aria-haspopup="menu" aria-expanded={open}
        title="Menu" onClick={() => setOpen(!open)}><MenuIcon /></button>
      {open ? (
        <div className="fe-menu-list" role="menu">
          {items.map((it) => (
            <button key={it.id} type="button" role="menuitem" className="fe-menu-item" data-testid={`menu-${it.id}`}
              onClick={() => { setOpen(false); it.run(); }}>
              <span>{it.label}</span>{it.keys ? <kbd>{it.keys}</kbd> : null}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}

export function Header() {
  const canUndo = useEditor((s) => s.history.past.length > 0);
  const canRedo = useEditor((s) => s.history.future.length > 0);
  const connected = useEditor((s) => s.connected);
  const user = useEditor((s) => s.user);
  const sidebarOpen = useEditor((s) => s.sidebarOpen);
  return (
    <header className="fe-header">
      <div className="fe-brand">flowengine</div>
      <div className="fe-header-tools">
        <button type="button" className="fe-icon-button" data-testid="undo" title="Undo (Ctrl+Z)" disabled={!canUndo}
          onClick={undo}><UndoIcon /></button>
        <button type="button" className="fe-icon-button" data-testid="redo" title="Redo (Ctrl+Y)" disabled={!canRedo}
          onClick={redo}><RedoIcon /></button>
      </div>
      <div className="fe-header-spacer" />
      <span className={`fe-conn${connected ? " fe-conn-on" : ""}`} data-testid="connection"
        title={connected ? "Live: receiving events" : "Not connected to the event stream; retrying"}>
        {connected ? "live" : "offline"}
      </span>
      {user ? <span className="fe-user">{user}</span> : null}
      <DeployButton />
      <button type="button" className={`fe-icon-button${sidebarOpen ? " fe-button-on" : ""}`} data-testid="sidebar-toggle"
        title="Debug sidebar" aria-pressed={sidebarOpen} onClick={() => setState({ sidebarOpen: !sidebarOpen })}><SidebarIcon /></button>
      <Menu />
    </header>
  );
}
