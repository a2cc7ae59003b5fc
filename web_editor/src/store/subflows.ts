// Subflows in Node-RED's shape: a `subflow` definition with `in`/`out` port lists (each port
// {x, y, wires: [{id, port}]}) and `env`; its nodes have z = the subflow id; an instance is a node
// of type `subflow:<id>` on a tab, its wires being the subflow's outputs.
import { newId } from "../io/importExport";
import type { FlowDocument, FlowNode } from "../types";
import { byId, isFlowNode, subflowsOf, wiresOf } from "./docIndex";
import { replaceNodes, subflowPorts, withSubflowPorts } from "./docOps";
import { commit, getState, setState, toast } from "./editorStore";

const SUBFLOW_COLOR = "#DDAA99";

function subflowName(doc: FlowDocument): string {
  const used = new Set(subflowsOf(doc).map((s) => s.name));
  let n = 1;
  while (used.has(`Subflow ${n}`)) n++;
  return `Subflow ${n}`;
}

/**
 * Moves the selected nodes into a new subflow and puts an instance in their place. Wires that
 * entered the selection now enter the instance (and the subflow's input feeds the nodes they
 * reached); each output port that left the selection becomes one subflow output. The new
 * definition opens as a tab (the flow stays shown).
 */
export function createSubflowFromSelection(): void {
  const s = getState();
  const index = byId(s.doc);
  if (index.get(s.activeTab)?.type !== "tab") {
    toast("Create subflows from nodes on a flow tab", "error");
    return;
  }
  const sel = [...s.selection].map((id) => index.get(id))
    .filter((n): n is FlowNode => !!n && n.z === s.activeTab && isFlowNode(n));
  if (!sel.length) {
    toast("Select the nodes to move into a subflow", "error");
    return;
  }
  const inside = new Set(sel.map((n) => n.id));
  const sfId = newId();
  const instanceId = newId();

  // Wires entering the selection: the subflow input feeds their targets.
  const entryTargets: string[] = [];
  const outsideChanges = new Map<string, FlowNode>();
  for (const n of s.doc) {
    if (n.z !== s.activeTab || inside.has(n.id) || !Array.isArray(n.wires)) continue;
    let touched = false;
    const wires = wiresOf(n).map((targets) => {
      if (!targets.some((t) => inside.has(t))) return targets;
      touched = true;
      for (const t of targets) if (inside.has(t) && !entryTargets.includes(t)) entryTargets.push(t);
      const kept = targets.filter((t) => !inside.has(t));
      return [...kept, instanceId];
    });
    if (touched) outsideChanges.set(n.id, { ...n, wires });
  }

  // Wires leaving the selection: one subflow output per (node, port).
  const exits: { id: string; port: number; targets: string[] }[] = [];
  for (const n of sel) {
    wiresOf(n).forEach((targets, port) => {
      const outside = targets.filter((t) => !inside.has(t));
      if (outside.length) exits.push({ id: n.id, port, targets: outside });
    });
  }

  // Lay the subflow out from (140, 60): input on the left, outputs on the right.
  const xs = sel.map((n) => Number(n.x) || 0), ys = sel.map((n) => Number(n.y) || 0);
  const minX = Math.min(...xs), minY = Math.min(...ys), maxX = Math.max(...xs);
  const dx = 200 - minX, dy = 80 - minY;
  const sf: FlowNode = {
    id: sfId, type: "subflow", name: subflowName(s.doc), info: "", category: "",
    in: entryTargets.length ? [{ x: 60, y: 80, wires: entryTargets.map((id) => ({ id })) }] : [],
    out: exits.map((e, i) => ({ x: Math.round(maxX + dx + 160), y: 80 + i * 60, wires: [{ id: e.id, port: e.port }] })),
    env: [], meta: {}, color: SUBFLOW_COLOR,
  };
  const moved = sel.map((n) => {
    const next: FlowNode = { ...n, z: sfId, x: (Number(n.x) || 0) + dx, y: (Number(n.y) || 0) + dy };
    next.wires = wiresOf(n).map((targets) => targets.filter((t) => inside.has(t)));
    delete next.g;
    return next;
  });
  const instance: FlowNode = {
    id: instanceId, type: `subflow:${sfId}`, z: s.activeTab, name: "", env: [],
    x: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), y: Math.round(ys.reduce((a, b) => a + b, 0) / ys.length),
    wires: exits.map((e) => e.targets),
  };
  // Moved nodes leave their groups.
  const groupChanges: FlowNode[] = [];
  for (const n of s.doc) {
    if (n.type === "group" && Array.isArray(n.nodes) && (n.nodes as string[]).some((id) => inside.has(id))) {
      groupChanges.push({ ...n, nodes: (n.nodes as string[]).filter((id) => !inside.has(id)) });
    }
  }
  let doc = replaceNodes(s.doc, [...outsideChanges.values(), ...moved, ...groupChanges]);
  doc = [...doc, sf, instance];
  commit(doc, { selection: [instanceId] });
  // The definition opens as a tab beside the flows; the view stays on the new instance. Undo
  // removes the definition and so closes its tab.
  setState({ openSubflows: [...getState().openSubflows.filter((id) => id !== sfId), sfId] });
  toast(`Created ${String(sf.name)}: open its tab to edit it`);
}

/** A new, empty subflow definition, opened as a tab. */
export function newSubflow(): string {
  const s = getState();
  const sf: FlowNode = {
    id: newId(), type: "subflow", name: subflowName(s.doc), info: "", category: "",
    in: [], out: [], env: [], meta: {}, color: SUBFLOW_COLOR,
  };
  commit([...s.doc, sf], { tab: sf.id, selection: [] });
  return sf.id;
}

/** Sets how many inputs (0 or 1) or outputs the open subflow has. */
export function setSubflowPorts(key: "in" | "out", count: number): void {
  const s = getState();
  const sf = byId(s.doc).get(s.activeTab);
  if (sf?.type !== "subflow" || count < 0 || (key === "in" && count > 1)) return;
  const ports = subflowPorts(sf, key).slice(0, count);
  while (ports.length < count) {
    ports.push(key === "in" ? { x: 60, y: 80, wires: [] } : { x: 500, y: 80 + ports.length * 60, wires: [] });
  }
  let doc = replaceNodes(s.doc, [{ ...sf, [key]: ports }]);
  if (key === "out") {
    // Instances keep one wire list per output.
    const instances = doc.filter((n) => n.type === `subflow:${sf.id}`).map((n) => {
      const wires = wiresOf(n).slice(0, count);
      while (wires.length < count) wires.push([]);
      return { ...n, wires };
    });
    doc = replaceNodes(doc, instances);
  }
  commit(doc);
}

/** Gives the open subflow a status output (Node-RED's `status: {x, y, wires}`) or removes it. */
export function setSubflowStatus(on: boolean): void {
  const s = getState();
  const sf = byId(s.doc).get(s.activeTab);
  if (sf?.type !== "subflow" || subflowPorts(sf, "status").length === (on ? 1 : 0)) return;
  const outs = subflowPorts(sf, "out");
  const x = outs.length ? Math.max(...outs.map((p) => Number(p.x) || 0)) : 500;
  const y = outs.length ? Math.max(...outs.map((p) => Number(p.y) || 0)) + 60 : 140;
  commit(replaceNodes(s.doc, [withSubflowPorts(sf, "status", on ? [{ x, y, wires: [] }] : [])]));
}
