// Groups: a `group` entry lists its members in `nodes`, each member points back with `g`, and
// x/y/w/h is the box around them. Grouping nests: a group can be a member of another.
import { newId } from "../io/importExport";
import type { FlowNode } from "../types";
import { byId, groupMembers, isFlowNode } from "./docIndex";
import { insertBefore, replaceNodes } from "./docOps";
import { rectOf, shapeContext } from "./derive";
import { commit, getState, toast } from "./editorStore";
import { GROUP_PAD, unionRects } from "./geometry";

/** Puts the selected nodes and groups of the current tab into a new group. */
export function groupSelection(): void {
  const s = getState();
  const index = byId(s.doc);
  const picked = [...s.selection].map((id) => index.get(id))
    .filter((n): n is FlowNode => !!n && n.z === s.activeTab && (isFlowNode(n) || n.type === "group"));
  // Only the outermost picked items become members; their own members stay where they are.
  const pickedIds = new Set(picked.map((n) => n.id));
  const top = picked.filter((n) => !(typeof n.g === "string" && pickedIds.has(n.g)));
  if (!top.length) {
    toast("Select nodes to group", "error");
    return;
  }
  const parents = new Set(top.map((n) => n.g ?? ""));
  if (parents.size > 1) {
    toast("The selected nodes belong to different groups", "error");
    return;
  }
  const parent = [...parents][0] || undefined;
  const ctx = shapeContext(s.doc, s.types);
  const box = unionRects(top.map((n) => rectOf(n, ctx)), GROUP_PAD)!;
  const id = newId();
  const group: FlowNode = {
    id, type: "group", z: s.activeTab, name: "", style: { label: true }, nodes: top.map((n) => n.id),
    x: Math.round(box.x), y: Math.round(box.y), w: Math.round(box.w), h: Math.round(box.h),
  };
  if (parent) group.g = parent;
  const changed: FlowNode[] = top.map((n) => ({ ...n, g: id }));
  const parentNode = parent ? index.get(parent) : undefined;
  if (parentNode) {
    const members = (Array.isArray(parentNode.nodes) ? parentNode.nodes as string[] : []).filter((m) => !pickedIds.has(m));
    changed.push({ ...parentNode, nodes: [...members, id] });
  }
  // The group goes before its first member, so it is drawn (and exported) before them.
  const first = s.doc.find((n) => pickedIds.has(n.id))!;
  commit(insertBefore(replaceNodes(s.doc, changed), group, first.id), { selection: [id] });
}

/** Removes the selected groups; their members join the enclosing group, if any. */
export function ungroupSelection(): void {
  const s = getState();
  const index = byId(s.doc);
  const groups = [...s.selection].map((id) => index.get(id)).filter((n): n is FlowNode => n?.type === "group");
  if (!groups.length) {
    toast("Select a group to ungroup", "error");
    return;
  }
  let doc = s.doc;
  const freed: string[] = [];
  for (const g of groups) {
    const current = byId(doc);
    const members = groupMembers(doc).get(g.id) ?? [];
    const parent = typeof g.g === "string" ? current.get(g.g) : undefined;
    const changed: FlowNode[] = members.map((m) => {
      const next = { ...m };
      if (parent) next.g = parent.id;
      else delete next.g;
      return next;
    });
    if (parent) {
      const list = (Array.isArray(parent.nodes) ? parent.nodes as string[] : []).filter((id) => id !== g.id);
      changed.push({ ...parent, nodes: [...list, ...members.map((m) => m.id)] });
    }
    doc = replaceNodes(doc, changed).filter((n) => n.id !== g.id);
    freed.push(...members.map((m) => m.id));
  }
  commit(doc, { selection: freed });
}
