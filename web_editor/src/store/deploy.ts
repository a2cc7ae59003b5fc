// Deploying: Node-RED's POST /flows (the route that takes a deployment type) with the rev the
// editor loaded. 409 means someone deployed in between: the user chooses reload or overwrite.
// 400 carries the problems per node, which the canvas and the node panel show.
import { ApiError, deployFlows, fetchFlows } from "../api";
import type { DeployType } from "../types";
import { getState, loadDocument, markDeployed, setProblems, setState, toast } from "./editorStore";
import { expectOwnDeploy } from "./runtime";

export async function deploy(opts: { overwrite?: boolean; type?: DeployType } = {}): Promise<void> {
  const s = getState();
  if (s.deploying) return;
  const doc = s.doc;
  setState({ deploying: true });
  expectOwnDeploy(true);
  try {
    const res = await deployFlows(doc, opts.overwrite ? null : s.rev, opts.type ?? s.deployType);
    // What was sent is now deployed; edits made while the request was in flight stay modified.
    markDeployed(doc, res.rev);
    const dialog = getState().dialog;
    if (dialog === "conflict" || dialog === "problems") setState({ dialog: null });
    toast("Deployed");
  } catch (err) {
    handleDeployError(err);
  } finally {
    setState({ deploying: false });
    window.setTimeout(() => expectOwnDeploy(false), 1000);
  }
}

function handleDeployError(err: unknown): void {
  if (err instanceof ApiError && err.status === 409) {
    setState({ dialog: "conflict" });
    return;
  }
  if (err instanceof ApiError && err.status === 400 && err.issues.length) {
    setProblems(err.issues);
    setState({ dialog: "problems" });
    toast(`Not deployed: ${err.issues.length} problem${err.issues.length === 1 ? "" : "s"}`, "error", 5000);
    return;
  }
  if (err instanceof ApiError && err.status === 401) return; // the login form takes over
  toast(`Deploy failed: ${err instanceof Error ? err.message : String(err)}`, "error", 6000);
}

/** Drops local edits and loads what the server runs now. */
export async function reloadFromServer(): Promise<void> {
  try {
    const { rev, flows } = await fetchFlows();
    loadDocument(flows, rev);
    setState({ dialog: null });
    toast("Reloaded the deployed flows");
  } catch (err) {
    toast(`Reload failed: ${err instanceof Error ? err.message : String(err)}`, "error");
  }
}
