// The node palette: types by category (collapsible), a filter box, drag onto the canvas or
// click/tap to add at the middle of the view.
import { memo, useMemo, useState, type DragEvent } from "react";
import { canvasApi } from "../canvas/canvasApi";
import { PALETTE_MIME } from "../canvas/Canvas";
import { subflowsOf } from "../store/docIndex";
import { addNodeAt } from "../store/edits";
import { openSubflow } from "../store/tabs";
import { setState, useEditor } from "../store/editorStore";
import { glyphFor, isImageIcon, paletteColor, safeColor } from "../store/looks";

interface Item {
  type: string;
  label: string;
  color: string;
  icon: string;
  category: string;
  help: string;
}

const CATEGORY_ORDER = ["subflows", "common", "function", "network", "sequence", "parser", "storage"];

function categoryRank(c: string): number {
  const i = CATEGORY_ORDER.indexOf(c);
  return i < 0 ? CATEGORY_ORDER.length : i;
}

function useItems(): Item[] {
  const palette = useEditor((s) => s.palette);
  const doc = useEditor((s) => s.doc);
  const subflows = useMemo(() => subflowsOf(doc), [doc]);
  return useMemo(() => {
    const items: Item[] = palette.filter((t) => !t.config).map((t) => ({
      type: t.type, label: t.label || t.type, color: paletteColor(t.type, t.category, t.color),
      icon: glyphFor(t.type, t.icon), category: t.category || "other", help: t.help,
    }));
    for (const sf of subflows) {
      items.push({
        type: `subflow:${sf.id}`, label: String(sf.name || "subflow"), color: safeColor(sf.color) ?? "#ddaa99",
        icon: "▣", category: "subflows", help: String(sf.info ?? ""),
      });
    }
    return items;
  }, [palette, subflows]);
}

let clickCount = 0;

function addAtCentre(type: string): void {
  // Repeated taps fan out a little so new nodes do not hide each other.
  const c = canvasApi.viewCenter();
  const step = (clickCount++ % 5) * 20;
  addNodeAt(type, { x: c.x + step, y: c.y + step });
}

const PaletteItem = memo(function PaletteItem({ item }: { item: Item }) {
  const onDragStart = (ev: DragEvent) => {
    ev.dataTransfer.setData(PALETTE_MIME, item.type);
    ev.dataTransfer.effectAllowed = "copy";
  };
  return (
    <div className="fe-palette-item" draggable onDragStart={onDragStart} onClick={() => addAtCentre(item.type)}
      data-testid="palette-item" data-type={item.type} title={item.help ? item.help.slice(0, 300) : item.type}
      style={{ background: item.color }} role="button" tabIndex={0}
      onKeyDown={(ev) => { if (ev.key === "Enter") addAtCentre(item.type); }}>
      <span className="fe-palette-icon">{isImageIcon(item.icon) ? <img src={item.icon} alt="" /> : item.icon}</span>
      <span className="fe-palette-label">{item.label}</span>
      {item.type.startsWith("subflow:") ? (
        <button type="button" className="fe-palette-edit" title="Edit the subflow" data-testid="palette-edit-subflow"
          onClick={(ev) => { ev.stopPropagation(); openSubflow(item.type.slice(8)); }}>✎</button>
      ) : null}
    </div>
  );
});

export function Palette() {
  const open = useEditor((s) => s.paletteOpen);
  const items = useItems();
  const [filter, setFilter] = useState("");
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});
  const groups = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const map = new Map<string, Item[]>();
    for (const it of items) {
      if (f && !it.label.toLowerCase().includes(f) && !it.type.toLowerCase().includes(f)) continue;
      const list = map.get(it.category);
      if (list) list.push(it);
      else map.set(it.category, [it]);
    }
    return [...map.entries()].sort((a, b) => categoryRank(a[0]) - categoryRank(b[0]) || a[0].localeCompare(b[0]));
  }, [items, filter]);

  if (!open) {
    return (
      <aside className="fe-palette fe-palette-closed" data-testid="palette">
        <button type="button" className="fe-icon-button" title="Show the palette" data-testid="palette-toggle"
          onClick={() => setState({ paletteOpen: true })}>›</button>
      </aside>
    );
  }
  return (
    <aside className="fe-palette" data-testid="palette">
      <div className="fe-palette-head">
        <input className="fe-input" type="search" placeholder="filter nodes" value={filter}
          onChange={(e) => setFilter(e.target.value)} data-testid="palette-search" aria-label="Filter nodes" />
        <button type="button" className="fe-icon-button" title="Hide the palette" data-testid="palette-toggle"
          onClick={() => setState({ paletteOpen: false })}>‹</button>
      </div>
      <div className="fe-palette-list">
        {groups.map(([category, list]) => {
          const shut = collapsed[category] && !filter;
          return (
            <section key={category} className="fe-palette-category" data-testid="palette-category" data-category={category}>
              <button type="button" className="fe-palette-category-head" aria-expanded={!shut}
                onClick={() => setCollapsed({ ...collapsed, [category]: !collapsed[category] })}>
                <span className="fe-caret">{shut ? "▸" : "▾"}</span>{category}
              </button>
              {shut ? null : list.map((it) => <PaletteItem key={it.type} item={it} />)}
            </section>
          );
        })}
        {groups.length === 0 ? <div className="fe-empty">No node matches “{filter}”.</div> : null}
      </div>
    </aside>
  );
}
