// Import: paste JSON or pick/drop a .json file, see what it holds, choose where it goes.
import { useDeferredValue, useMemo, useState, type JSX } from "react";
import type { FlowDocument, NodeTypeDef } from "../types";
import { describeSummary, summarize } from "./classify";
import { Modal } from "./Modal";
import { droppedKeysNote, parseImportChecked } from "./parse";

type Target = "new-tab" | "current-tab";
type Parsed = { nodes: FlowDocument; summary: string; tabs: number; note: string | null } | { error: string } | null;

function useParsed(text: string, palette: NodeTypeDef[]): { parsed: Parsed; stale: boolean } {
  // Parsing a large paste on every keystroke would stall typing; let React lag it behind.
  const deferred = useDeferredValue(text);
  const parsed = useMemo((): Parsed => {
    if (deferred.trim() === "") return null;
    try {
      const { nodes, dropped } = parseImportChecked(deferred);
      const s = summarize(nodes, palette);
      return { nodes, summary: describeSummary(s), tabs: s.tabs, note: dropped ? droppedKeysNote(dropped) : null };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }, [deferred, palette]);
  return { parsed, stale: deferred !== text };
}

export function ImportDialog(props: {
  palette: NodeTypeDef[];
  onImport(nodes: FlowDocument, target: Target): void;
  onClose(): void;
}): JSX.Element {
  const [text, setText] = useState("");
  const [target, setTarget] = useState<Target>("new-tab");
  const [fileNote, setFileNote] = useState<string | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const { parsed, stale } = useParsed(text, props.palette);
  // The deferred parse may still describe older text; only import what was checked.
  const ready = !stale && parsed !== null && "nodes" in parsed;

  const readFile = async (file: File | undefined) => {
    if (!file) return;
    setFileError(null);
    try {
      setText(await file.text());
      setFileNote(`${file.name} (${Math.max(1, Math.round(file.size / 1024))} KB)`);
    } catch (e) {
      setFileError(`could not read ${file.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const confirm = () => {
    if (ready && "nodes" in parsed) props.onImport(parsed.nodes, target);
  };

  const error = fileError ?? (parsed && "error" in parsed ? parsed.error : null);
  const footer = (
    <>
      <button type="button" className="fe-io-btn" onClick={props.onClose}>
        Cancel
      </button>
      <button type="button" className="fe-io-btn fe-io-btn-primary" data-testid="import-confirm" disabled={!ready} onClick={confirm}>
        Import
      </button>
    </>
  );

  return (
    <Modal title="Import nodes" testId="import-dialog" onClose={props.onClose} footer={footer} className="fe-io-dialog">
      <textarea
        className={`fe-io-text ${dragging ? "fe-io-drop" : ""}`}
        data-testid="import-text"
        aria-label="Flow JSON to import"
        placeholder="Paste a flow exported from flowengine or Node-RED, choose a file, or drop one here"
        spellCheck={false}
        autoFocus
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setFileNote(null);
          setFileError(null);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && ready) {
            e.preventDefault();
            confirm();
          }
        }}
        onDragOver={(e) => {
          if (e.dataTransfer.types.includes("Files")) {
            e.preventDefault();
            setDragging(true);
          }
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          const file = e.dataTransfer.files[0];
          if (!file) return; // dropped text: let the textarea insert it
          e.preventDefault();
          setDragging(false);
          void readFile(file);
        }}
      />
      <div className="fe-io-row">
        <label className="fe-io-btn fe-io-file">
          Choose file…
          <input
            type="file"
            accept=".json,application/json"
            data-testid="import-file"
            onChange={(e) => {
              void readFile(e.target.files?.[0]);
              e.target.value = ""; // picking the same file again must fire again
            }}
          />
        </label>
        {fileNote && <span className="fe-io-note">{fileNote}</span>}
      </div>
      <fieldset className="fe-io-choice">
        <legend>Import to</legend>
        <label>
          <input type="radio" name="fe-import-target" data-testid="import-target-new" checked={target === "new-tab"} onChange={() => setTarget("new-tab")} />
          a new tab
        </label>
        <label>
          <input type="radio" name="fe-import-target" data-testid="import-target-current" checked={target === "current-tab"} onChange={() => setTarget("current-tab")} />
          the current tab
        </label>
      </fieldset>
      <div className="fe-io-status" aria-live="polite">
        {error ? (
          <div className="fe-io-error" data-testid="import-error" role="alert">
            {error}
          </div>
        ) : parsed && "nodes" in parsed ? (
          <div className="fe-io-summary" data-testid="import-summary">
            {parsed.summary}
            {parsed.note && <span className="fe-io-note" data-testid="import-note"> — {parsed.note}</span>}
            {target === "current-tab" && parsed.tabs > 0 && <span className="fe-io-note"> — the tabs' nodes go into the current tab</span>}
          </div>
        ) : (
          <div className="fe-io-note">Nothing to import yet.</div>
        )}
      </div>
    </Modal>
  );
}
