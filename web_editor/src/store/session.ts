// Start-up and sign-in: who am I, then the palette and the flows, then the event stream.
import { fetchFlows, fetchMe, fetchPalette, login as apiLogin, logout as apiLogout, setUnauthorizedHandler } from "../api";
import { connectEvents } from "../events";
import { newId } from "../io/importExport";
import type { AuthInfo, FlowNode, NodeTypeDef } from "../types";
import { tabsOf } from "./docIndex";
import { getState, loadDocument, setState } from "./editorStore";
import { ingestFrames, refreshStatus } from "./runtime";

let stopEvents: (() => void) | null = null;

let booted = false;

export async function boot(): Promise<void> {
  if (booted) return;
  booted = true;
  setUnauthorizedHandler(() => {
    stopEvents?.();
    stopEvents = null;
    setState({ authPhase: "login", ready: false });
  });
  try {
    const me = await fetchMe();
    if (me === "login") {
      setState({ authPhase: "login" });
      return;
    }
    await start(me);
  } catch (err) {
    setState({ loadError: err instanceof Error ? err.message : String(err) });
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  const me = await apiLogin(username, password);
  await start(me);
}

export async function signOut(): Promise<void> {
  try {
    await apiLogout();
  } finally {
    stopEvents?.();
    stopEvents = null;
    setState({ authPhase: "login", ready: false, user: null });
  }
}

async function start(me: AuthInfo): Promise<void> {
  setState({ user: me.user, accounts: me.accounts, loadError: null });
  const [palette, flows] = await Promise.all([fetchPalette(), fetchFlows()]);
  setPalette(palette.types);
  loadDocument(flows.flows, flows.rev);
  ensureSomeTab();
  setState({ authPhase: "ready" });
  stopEvents?.();
  stopEvents = connectEvents({
    onFrames: ingestFrames,
    onOpen: () => {
      setState({ connected: true });
      void refreshStatus();
    },
    onClose: () => setState({ connected: false }),
  });
}

export function setPalette(types: NodeTypeDef[]): void {
  setState({ palette: types, types: new Map(types.map((t) => [t.type, t])) });
}

/** An empty document gets a first tab, as Node-RED does; it counts as an undeployed change. */
export function ensureSomeTab(): void {
  const s = getState();
  if (tabsOf(s.doc).length) return;
  const tab: FlowNode = { id: newId(), type: "tab", label: "Flow 1", disabled: false, info: "", env: [] };
  setState({ doc: [tab, ...s.doc], activeTab: tab.id });
}
