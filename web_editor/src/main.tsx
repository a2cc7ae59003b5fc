import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/base.css";
import "./styles/app.css";
import "./styles/canvas.css";
import "./styles/panels.css";
import { App } from "./app/App";
import { installUnloadGuard } from "./app/unloadGuard";
import { getState, useEditor } from "./store/editorStore";

// Tests and benchmarks drive the editor through this handle: `ready` turns true once the
// palette and the flows are loaded and the canvas has drawn its first frame.
declare global {
  interface Window {
    __flowengine: { readonly ready: boolean; store: typeof useEditor };
  }
}
window.__flowengine = {
  get ready() {
    return getState().ready;
  },
  store: useEditor,
};

installUnloadGuard();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
