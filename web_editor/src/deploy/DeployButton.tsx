// The deploy button: highlighted while there are undeployed changes, with the deployment type.
import { deploy } from "../store/deploy";
import { hasChanges, setState, useEditor } from "../store/editorStore";
import type { DeployType } from "../types";

const TYPES: { value: DeployType; label: string }[] = [
  { value: "full", label: "Full" },
  { value: "flows", label: "Modified flows" },
  { value: "nodes", label: "Modified nodes" },
];

export function DeployButton() {
  const dirty = useEditor(hasChanges);
  const deploying = useEditor((s) => s.deploying);
  const type = useEditor((s) => s.deployType);
  return (
    <div className={`fe-deploy${dirty ? " fe-deploy-dirty" : ""}`}>
      <button type="button" className="fe-deploy-button" data-testid="deploy-button" data-dirty={dirty ? "true" : "false"}
        disabled={deploying} onClick={() => void deploy()} title="Deploy (Ctrl+D)">
        {deploying ? "Deploying…" : "Deploy"}
      </button>
      <select className="fe-deploy-type" data-testid="deploy-type" value={type} aria-label="Deployment type"
        onChange={(e) => setState({ deployType: e.target.value as DeployType })}>
        {TYPES.map((t) => <option key={t.value} value={t.value}>{t.label}</option>)}
      </select>
    </div>
  );
}
