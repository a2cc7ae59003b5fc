// Opening another node's panel while the open one has unapplied edits would drop them silently.
// The host reports whether its panel has changes; everything that opens a panel asks here first.
import { getState, setState, toast } from "../store/editorStore";

let dirty = false;

/** The open panel (or the config-node panel stacked on it) has unapplied changes. */
export function setPanelDirty(value: boolean): void {
  dirty = value;
}

export function panelHasChanges(): boolean {
  return dirty && getState().editing !== null;
}

/**
 * Opens the panel of `id`, unless another panel with unapplied edits is open: then it stays and a
 * toast says why. Returns whether `id` is (now) being edited.
 */
export function openEditor(id: string): boolean {
  const current = getState().editing;
  if (current === id) return true;
  if (current !== null && dirty) {
    toast("Finish or cancel the open panel first (Done or Cancel)", "info");
    return false;
  }
  dirty = false;
  setState({ editing: id });
  return true;
}
