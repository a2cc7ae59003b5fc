// Shown when a deploy answers 409: the flows changed on the server since they were loaded.
import { Modal } from "../ui/Modal";
import { deploy, reloadFromServer } from "../store/deploy";
import { setState } from "../store/editorStore";

export function ConflictDialog() {
  const close = () => setState({ dialog: null });
  return (
    <Modal title="The flows changed on the server" testId="conflict-dialog" onClose={close}>
      <p className="fe-modal-text">
        Someone deployed since this editor loaded the flows. Reload to see their version (your undeployed
        changes are lost), or overwrite it with yours.
      </p>
      <div className="fe-modal-actions">
        <button type="button" className="fe-button" data-testid="conflict-cancel" onClick={close}>Cancel</button>
        <button type="button" className="fe-button" data-testid="conflict-reload" onClick={() => void reloadFromServer()}>
          Reload (lose my changes)
        </button>
        <button type="button" className="fe-button fe-button-danger" data-testid="conflict-overwrite"
          onClick={() => { setState({ dialog: null }); void deploy({ overwrite: true }); }}>
          Overwrite (deploy anyway)
        </button>
      </div>
    </Modal>
  );
}
