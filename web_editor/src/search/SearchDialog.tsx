// Search: type to find nodes by name, type, id or property value; arrows + Enter pick one.
import { useEffect, useMemo, useRef, useState, type JSX } from "react";
import { Modal } from "../io/Modal";
import type { FlowDocument, NodeTypeDef } from "../types";
import { MAX_RESULTS, searchNodes } from "./searchNodes";
import "./search.css";

export function SearchDialog(props: {
  doc: FlowDocument;
  palette: NodeTypeDef[];
  onPick(nodeId: string): void;
  onClose(): void;
}): JSX.Element {
  const { doc, palette, onPick, onClose } = props;
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const results = useMemo(() => searchNodes(doc, query, palette), [doc, query, palette]);
  const list = useRef<HTMLUListElement>(null);

  useEffect(() => setActive(0), [query]);
  useEffect(() => {
    list.current?.querySelector<HTMLElement>(`[data-index="${active}"]`)?.scrollIntoView({ block: "nearest" });
  }, [active]);

  const pick = (id: string | undefined) => {
    if (id === undefined) return;
    onPick(id);
    onClose();
  };

  const status = !query.trim()
    ? "Search by name, type, id or property value"
    : results.length === 0
      ? "No nodes match"
      : results.length >= MAX_RESULTS
        ? `First ${MAX_RESULTS} matches`
        : `${results.length} ${results.length === 1 ? "match" : "matches"}`;

  return (
    <Modal title="Search nodes" testId="search-dialog" onClose={onClose} className="fe-search-dialog">
      <input
        className="fe-search-input"
        data-testid="search-input"
        type="search"
        aria-label="Search nodes"
        aria-controls="fe-search-results"
        aria-activedescendant={results.length ? `fe-search-result-${active}` : undefined}
        placeholder="topic, payload, node name…"
        autoFocus
        autoComplete="off"
        spellCheck={false}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" || e.key === "ArrowUp") {
            e.preventDefault();
            if (!results.length) return;
            const step = e.key === "ArrowDown" ? 1 : -1;
            setActive((i) => (i + step + results.length) % results.length);
          } else if (e.key === "Enter") {
            e.preventDefault();
            pick(results[active]?.id);
          }
        }}
      />
      <div className="fe-search-status" aria-live="polite">
        {status}
      </div>
      <ul className="fe-search-results" id="fe-search-results" role="listbox" ref={list}>
        {results.map((r, i) => (
          <li
            key={r.id}
            id={`fe-search-result-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? "fe-search-result fe-search-active" : "fe-search-result"}
            data-testid="search-result"
            data-node-id={r.id}
            data-index={i}
            onMouseMove={() => setActive(i)}
            onClick={() => pick(r.id)}
          >
            <span className="fe-search-type">{r.type}</span>
            <span className="fe-search-main">
              <span className="fe-search-label">{r.label}</span>
              <span className="fe-search-matched">{r.matched}</span>
            </span>
            <span className="fe-search-tab">{r.tabLabel}</span>
          </li>
        ))}
      </ul>
    </Modal>
  );
}
