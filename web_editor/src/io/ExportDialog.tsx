// Export: the selection, the current tab or everything, as compact or pretty JSON,
// copied to the clipboard (with fallbacks) or downloaded as flows.json.
import { useEffect, useMemo, useRef, useState, type JSX } from "react";
import type { FlowDocument } from "../types";
import { describeSummary, summarize } from "./classify";
import { copyText, type CopyOutcome } from "./clipboard";
import { downloadText } from "./download";
import { exportNodes, type ExportScope } from "./export";
import { Modal } from "./Modal";

type ScopeKind = ExportScope["kind"];

export function ExportDialog(props: {
  doc: FlowDocument;
  selectedIds: string[];
  currentTabId: string;
  onClose(): void;
}): JSX.Element {
  const { doc, selectedIds, currentTabId } = props;
  const hasSelection = selectedIds.length > 0;
  const hasTab = doc.some((n) => n.id === currentTabId);
  const [kind, setKind] = useState<ScopeKind>(hasSelection ? "selection" : hasTab ? "tab" : "all");
  const [pretty, setPretty] = useState(false);
  const [copied, setCopied] = useState<CopyOutcome | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);

  const nodes = useMemo(() => {
    const scope: ExportScope =
      kind === "selection" ? { kind, ids: selectedIds } : kind === "tab" ? { kind, tabId: currentTabId } : { kind };
    return exportNodes(doc, scope);
  }, [doc, kind, selectedIds, currentTabId]);
  const text = useMemo(() => JSON.stringify(nodes, null, pretty ? 2 : undefined), [nodes, pretty]);

  // A confirmation belongs to the text it was about.
  useEffect(() => setCopied(null), [text]);
  useEffect(() => {
    if (copied !== "clipboard" && copied !== "execCommand") return;
    const t = setTimeout(() => setCopied(null), 4000);
    return () => clearTimeout(t);
  }, [copied]);

  const scopeRadio = (value: ScopeKind, label: string, testId: string, disabled = false) => (
    <label className={disabled ? "fe-io-disabled" : undefined}>
      <input type="radio" name="fe-export-scope" data-testid={testId} checked={kind === value} disabled={disabled} onChange={() => setKind(value)} />
      {label}
    </label>
  );

  const footer = (
    <>
      <span className="fe-io-feedback" aria-live="polite">
        {(copied === "clipboard" || copied === "execCommand") && (
          <span className="fe-io-ok" data-testid="export-copied">
            Copied to the clipboard
          </span>
        )}
        {copied === "manual" && (
          <span className="fe-io-error" data-testid="export-copy-manual">
            The browser refused to copy. The text is selected: press Ctrl+C (⌘C on a Mac).
          </span>
        )}
      </span>
      <button type="button" className="fe-io-btn" data-testid="export-download" onClick={() => downloadText(text, "flows.json")}>
        Download
      </button>
      <button type="button" className="fe-io-btn fe-io-btn-primary" data-testid="export-copy" onClick={async () => setCopied(await copyText(text, area.current))}>
        Copy
      </button>
    </>
  );

  return (
    <Modal title="Export nodes" testId="export-dialog" onClose={props.onClose} footer={footer} className="fe-io-dialog">
      <div className="fe-io-row">
        <fieldset className="fe-io-choice">
          <legend>Export</legend>
          {scopeRadio("selection", hasSelection ? `selected nodes (${selectedIds.length})` : "selected nodes", "export-scope-selection", !hasSelection)}
          {scopeRadio("tab", "current tab", "export-scope-tab", !hasTab)}
          {scopeRadio("all", "all flows", "export-scope-all")}
        </fieldset>
        <fieldset className="fe-io-choice">
          <legend>Format</legend>
          <label>
            <input type="radio" name="fe-export-format" data-testid="export-compact" checked={!pretty} onChange={() => setPretty(false)} />
            compact
          </label>
          <label>
            <input type="radio" name="fe-export-format" data-testid="export-pretty" checked={pretty} onChange={() => setPretty(true)} />
            formatted
          </label>
        </fieldset>
      </div>
      <textarea
        ref={area}
        className="fe-io-text"
        data-testid="export-text"
        aria-label="Exported flow JSON"
        readOnly
        spellCheck={false}
        value={text}
        onFocus={(e) => e.currentTarget.select()}
      />
      <div className="fe-io-note" data-testid="export-summary">
        {describeSummary(summarize(nodes))}
      </div>
    </Modal>
  );
}
