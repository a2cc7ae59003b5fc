// The dialogs owned by other modules (import, export, search) and the deploy conflict/problems.
import { revealNode } from "../canvas/reveal";
import { ConflictDialog } from "../deploy/ConflictDialog";
import { ProblemsPanel } from "../deploy/ProblemsPanel";
import { ExportDialog } from "../io/ExportDialog";
import { ImportDialog } from "../io/ImportDialog";
import { mergeImport } from "../io/importExport";
import { SearchDialog } from "../search/SearchDialog";
import { commit, getState, setState, toast, useEditor } from "../store/editorStore";
import type { FlowDocument } from "../types";

const close = () => setState({ dialog: null });

function onImport(nodes: FlowDocument, target: "new-tab" | "current-tab"): void {
  const s = getState();
  try {
    const merged = mergeImport(s.doc, nodes, { target, currentTabId: s.activeTab, palette: s.palette });
    commit(merged.doc, { tab: merged.tabId, selection: merged.addedIds });
    setState({ dialog: null });
    toast(`Imported ${merged.addedIds.length} node${merged.addedIds.length === 1 ? "" : "s"}`);
  } catch (err) {
    toast(`Import failed: ${err instanceof Error ? err.message : String(err)}`, "error", 6000);
  }
}

export function Dialogs() {
  const dialog = useEditor((s) => s.dialog);
  const doc = useEditor((s) => s.doc);
  const palette = useEditor((s) => s.palette);
  const selection = useEditor((s) => s.selection);
  const tab = useEditor((s) => s.activeTab);
  switch (dialog) {
    case "import":
      return <ImportDialog palette={palette} onImport={onImport} onClose={close} />;
    case "export":
      return <ExportDialog doc={doc} selectedIds={[...selection]} currentTabId={tab} onClose={close} />;
    case "search":
      return <SearchDialog doc={doc} palette={palette} onClose={close}
        onPick={(id) => { close(); revealNode(id); }} />;
    case "conflict":
      return <ConflictDialog />;
    case "problems":
      return <ProblemsPanel />;
    default:
      return null;
  }
}
