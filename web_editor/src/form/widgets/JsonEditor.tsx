// Free-form JSON (objects without a schema, e.g. MQTT v5 properties). While the text does not
// parse, the text itself is handed to the form so the error shows; valid text becomes the value.
import { useEffect, useState, type JSX } from "react";
import { deepEqual } from "../convert";
import type { LeafProps } from "./types";

const show = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v, null, 2));

function parse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export function JsonEditor(p: LeafProps): JSX.Element {
  const [text, setText] = useState(() => show(p.value));

  // Follow outside changes (e.g. the row moved) unless they are just our own parse of the text.
  useEffect(() => {
    const parsed = parse(text);
    const same = text.trim() === "" ? p.value === null || p.value === undefined : parsed.ok ? deepEqual(parsed.value, p.value) : p.value === text;
    if (!same) setText(show(p.value));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [p.value]);

  const onChange = (next: string): void => {
    setText(next);
    if (next.trim() === "") {
      p.onChange(p.spec.nullable ? null : undefined);
      return;
    }
    const parsed = parse(next);
    p.onChange(parsed.ok ? parsed.value : next);
  };

  return (
    <textarea
      id={p.id}
      className="nf-input nf-textarea nf-mono"
      rows={Math.min(12, Math.max(3, text.split("\n").length + 1))}
      value={text}
      placeholder="JSON"
      spellCheck={false}
      aria-invalid={p.invalid || undefined}
      disabled={p.disabled}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}
