// Start-up and sign-in: who am I, then the palette and the flows, then the event stream.
import { fetchFlows, fetchMe, fetchPalette, login as apiLogin, logout as apiLogout, setUnauthorizedHandler } from "../api";
import { connectEvents } from "../events";
import { newId } from "../io/importExport";
import type { AuthInfo, FlowNode, NodeTypeDef } from "../types";
import { tabsOf } from "./docIndex";
import { getState, hasChanges, loadDocument, setState, toast } from "./editorStore";
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
  } catch (err) {
    toast(`Sign-out request failed: ${err instanceof Error ? err.message : String(err)}`, "error", 6000);
  } finally {
    stopEvents?.();
    stopEvents = null;
    // Nothing of this session stays behind the login form: document, undo history (which may
    // hold typed secrets), debug messages, status.
    resetSession();
    setState({ authPhase: "login", ready: false, user: null });
  }
}

/** Whose document the store holds: `undefined` when none is loaded (start, after sign-out). */
let loadedFor: string | null | undefined;

/** Drops everything the signed-in user saw or edited. */
function resetSession(): void {
  loadedFor = undefined;
  loadDocument([], null);
  setState({ debug: [], status: {}, dialog: null, openSubflows: [], activeTab: "", connected: false });
}

async function start(me: AuthInfo): Promise<void> {
  // Signed in again after the session ended (a 401): the same user keeps the document, the undo
  // history and the baseline. Someone else starts from a clean editor.
  if (loadedFor !== undefined && loadedFor !== me.user) resetSession();
  setState({ user: me.user, accounts: me.accounts, loadError: null });
  const [palette, flows] = await Promise.all([fetchPalette(), fetchFlows()]);
  setPalette(palette.types);
  const s = getState();
  if (loadedFor === undefined) {
    loadDocument(flows.flows, flows.rev);
    ensureSomeTab();
  } else if (!hasChanges(s)) {
    // Nothing to lose: take what the server runs now, if it changed meanwhile.
    if (flows.rev !== s.rev) loadDocument(flows.flows, flows.rev);
    ensureSomeTab();
  } else if (flows.rev !== s.rev) {
    // Local edits win; the rev stays the one they are based on, so a deploy asks first (409).
    toast("The flows were deployed from elsewhere meanwhile; your undeployed edits are kept", "info", 6000);
  }
  loadedFor = me.user;
  setState({ authPhase: "ready" });
  stopEvents?.();
  stopEvents = connectEvents({
    onFrames: ingestFrames,
    onOpen: () => {
      setState({ connected: true });
      void refreshStatus();
    },
    onClose: () => setState({ connected: false }),
    // Frames were dropped (a background tab buffered too many): status badges may be stale.
    onDropped: () => void refreshStatus(),
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
