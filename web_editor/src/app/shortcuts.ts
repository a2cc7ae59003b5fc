// Keyboard shortcuts and the system clipboard. Copy/paste use the browser's copy/paste events:
// they carry text without a permission prompt and work on plain http, where the async
// clipboard API is unavailable. A key press without such an event (some embedded browsers)
// falls back to the editor's own clipboard.
import { useEffect } from "react";
import { canvasApi } from "../canvas/canvasApi";
import { copySelection, cutSelection, internalClipboard, parseClipboard, pasteNodes } from "../store/clipboard";
import { deploy } from "../store/deploy";
import { deleteSelection, selectAll } from "../store/edits";
import { getState, redo, setState, undo } from "../store/editorStore";
import { groupSelection, ungroupSelection } from "../store/groups";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

/**
 * Whether a form control has the user's attention. Chrome sends clipboard events from a focused
 * control that is not editable (a <select>) to <body>, so the focused element is checked too.
 */
function inField(ev: Event): boolean {
  return isTyping(ev.target) || isTyping(document.activeElement);
}

/** Keys only act on the canvas when no dialog or panel has the user's attention. */
function canvasHasFocus(ev: Event): boolean {
  const s = getState();
  return s.authPhase === "ready" && !inField(ev) && s.dialog !== "import" && s.dialog !== "export"
    && s.dialog !== "search" && s.dialog !== "conflict" && s.editing === null;
}

/** The event's key in lower case; synthetic `keydown` events (autofill) may carry none. */
function keyOf(ev: KeyboardEvent): string {
  return typeof ev.key === "string" ? ev.key.toLowerCase() : "";
}

let pendingPaste: number | undefined;

function onKeyDown(ev: KeyboardEvent): void {
  const mod = ev.ctrlKey || ev.metaKey;
  const key = keyOf(ev);
  if (!key) return;
  // Deploy, search, import and export work from anywhere but form fields, and not while the node
  // panel is open: it would close and lose its unsaved edits (or deploy without them).
  if (mod && !inField(ev) && getState().authPhase === "ready" && getState().editing === null) {
    if (key === "d") { ev.preventDefault(); void deploy(); return; }
    if (key === "f") { ev.preventDefault(); setState({ dialog: "search", editing: null }); return; }
    if (key === "i") { ev.preventDefault(); setState({ dialog: "import", editing: null }); return; }
    if (key === "e") { ev.preventDefault(); setState({ dialog: "export", editing: null }); return; }
  }
  if (!canvasHasFocus(ev)) return;
  if (mod && key === "z") {
    ev.preventDefault();
    if (ev.shiftKey) redo();
    else undo();
  } else if (mod && key === "y") {
    ev.preventDefault();
    redo();
  } else if (mod && key === "a") {
    ev.preventDefault();
    selectAll();
  } else if (mod && key === "g") {
    ev.preventDefault();
    if (ev.shiftKey) ungroupSelection();
    else groupSelection();
  } else if (mod && key === "c") {
    copySelection(); // the copy event, if the browser sends one, also fills the system clipboard
  } else if (mod && key === "x") {
    copySelection();
  } else if (mod && key === "v") {
    window.clearTimeout(pendingPaste);
    pendingPaste = window.setTimeout(() => pasteNodes(internalClipboard(), canvasApi.pointer()), 60);
  } else if (!mod && (ev.key === "Delete" || ev.key === "Backspace")) {
    ev.preventDefault();
    deleteSelection();
  } else if (ev.key === "Escape") {
    setState({ selection: new Set(), selectedEdges: new Set() });
  }
}

function onCopy(ev: ClipboardEvent): void {
  if (!canvasHasFocus(ev) || !getState().selection.size) return;
  const nodes = copySelection();
  if (!nodes.length) return;
  ev.clipboardData?.setData("text/plain", JSON.stringify(nodes));
  ev.preventDefault();
}

let cutHandled = 0;

function onCut(ev: ClipboardEvent): void {
  if (!canvasHasFocus(ev) || !getState().selection.size) return;
  const nodes = cutSelection();
  cutHandled = Date.now();
  if (!nodes.length) return;
  ev.clipboardData?.setData("text/plain", JSON.stringify(nodes));
  ev.preventDefault();
}

function onKeyUp(ev: KeyboardEvent): void {
  // Ctrl+X without a cut event: remove the nodes copied on keydown.
  if ((ev.ctrlKey || ev.metaKey) && keyOf(ev) === "x" && canvasHasFocus(ev) && Date.now() - cutHandled > 500) {
    if (getState().selection.size) cutSelection();
  }
}

function onPaste(ev: ClipboardEvent): void {
  if (!canvasHasFocus(ev)) return;
  const text = ev.clipboardData?.getData("text/plain") ?? "";
  const nodes = parseClipboard(text);
  window.clearTimeout(pendingPaste);
  ev.preventDefault();
  pasteNodes(nodes ?? internalClipboard(), canvasApi.pointer());
}

export function useShortcuts(): void {
  useEffect(() => {
    window.addEventListener("keydown", onKeyDown);
    window.addEventListener("keyup", onKeyUp);
    document.addEventListener("copy", onCopy);
    document.addEventListener("cut", onCut);
    document.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("keydown", onKeyDown);
      window.removeEventListener("keyup", onKeyUp);
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("cut", onCut);
      document.removeEventListener("paste", onPaste);
    };
  }, []);
}
