// Leaving or reloading the page with undeployed changes asks first, as Node-RED does. The
// `beforeunload` listener is only attached while the document differs from the deployed one
// (an attached listener keeps the page out of the back/forward cache).
import { getState, hasChanges, useEditor, type EditorState } from "../store/editorStore";

function onBeforeUnload(ev: BeforeUnloadEvent): void {
  if (!hasUnsavedWork(getState())) return;
  ev.preventDefault();
  // Older browsers show the prompt only when returnValue is set.
  ev.returnValue = "";
}

function hasUnsavedWork(s: EditorState): boolean {
  return s.authPhase === "ready" && s.ready && hasChanges(s);
}

let installed = false;

/** Keeps the listener in step with the store; returns the uninstaller. */
export function installUnloadGuard(): () => void {
  let attached = false;
  const sync = (s: EditorState): void => {
    const want = hasUnsavedWork(s);
    if (want === attached) return;
    attached = want;
    if (want) window.addEventListener("beforeunload", onBeforeUnload);
    else window.removeEventListener("beforeunload", onBeforeUnload);
  };
  if (installed) return () => {};
  installed = true;
  sync(getState());
  const unsubscribe = useEditor.subscribe(sync);
  return () => {
    unsubscribe();
    if (attached) window.removeEventListener("beforeunload", onBeforeUnload);
    attached = false;
    installed = false;
  };
}
