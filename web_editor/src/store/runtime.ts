// Live runtime data from the event stream: node status badges and debug messages.
import { fetchState } from "../api";
import type { DebugData, DebugEntry, EventFrame, NodeStatus } from "../types";
import { getState, setState, toast } from "./editorStore";

export const DEBUG_LIMIT = 1000;
let debugSeq = 0;
/** Set while this editor deploys, so its own deploy frame is not reported as someone else's. */
let ownDeploys = 0;

export function expectOwnDeploy(on: boolean): void {
  ownDeploys += on ? 1 : -1;
}

export function ingestFrames(frames: EventFrame[]): void {
  let status: Record<string, NodeStatus> | null = null;
  const debug: DebugEntry[] = [];
  let deployed = false;
  let dropped = false;
  for (const f of frames) {
    if (f.type === "status" && f.node_id && f.node_id !== "__proto__") {
      status ??= { ...getState().status };
      const data = (f.data ?? {}) as NodeStatus;
      if (data.text || data.fill) status[f.node_id] = data;
      else delete status[f.node_id];
    } else if (f.type === "debug" && f.data) {
      debug.push({ ...(f.data as DebugData), seq: ++debugSeq, ts: f.ts });
    } else if (f.type === "dropped") {
      // The server skipped frames for this client (it fell behind): status changes may be lost.
      dropped = true;
    } else if (f.type === "deploy") {
      deployed = true;
      const rev = (f.data as { rev?: string } | null)?.rev;
      if (rev && ownDeploys === 0 && rev !== getState().rev) {
        toast("The flows were deployed from elsewhere; deploying now will ask before overwriting", "info", 5000);
      }
    }
  }
  const patch: Partial<ReturnType<typeof getState>> = {};
  if (status) patch.status = status;
  if (debug.length) {
    const all = getState().debug.concat(debug);
    patch.debug = all.length > DEBUG_LIMIT ? all.slice(all.length - DEBUG_LIMIT) : all;
  }
  if (Object.keys(patch).length) setState(patch);
  if (deployed || dropped) void refreshStatus();
}

/** Status badges as the server holds them now (after a (re)connect, a deploy, or dropped frames). */
export async function refreshStatus(): Promise<void> {
  try {
    const state = await fetchState();
    const status: Record<string, NodeStatus> = {};
    for (const [id, n] of Object.entries(state.nodes ?? {})) {
      const st = n?.status as NodeStatus | null;
      if (st && (st.text || st.fill)) status[id] = st;
    }
    setState({ status });
  } catch {
    // The stream keeps status current anyway; a failed refresh is not worth a message.
  }
}

export function clearDebug(): void {
  setState({ debug: [] });
}
