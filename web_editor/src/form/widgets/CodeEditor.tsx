// A monospace textarea where Tab indents (4 spaces, Python style) and Shift+Tab dedents.
import { useLayoutEffect, useRef, type JSX, type KeyboardEvent } from "react";
import { displayText, type LeafProps } from "./types";

const INDENT = "    ";

interface Edit {
  text: string;
  start: number;
  end: number;
}

/** Indent or dedent the lines the selection touches; a bare caret with Tab inserts spaces. */
export function indentEdit(text: string, start: number, end: number, dedent: boolean): Edit {
  if (!dedent && start === end) {
    return { text: text.slice(0, start) + INDENT + text.slice(end), start: start + INDENT.length, end: start + INDENT.length };
  }
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  const block = text.slice(lineStart, end);
  const lines = block.split("\n");
  let firstDelta = 0;
  let total = 0;
  const changed = lines.map((line, i) => {
    let delta: number;
    let out: string;
    if (dedent) {
      const remove = /^ {0,4}/.exec(line)?.[0].length ?? 0;
      out = line.slice(remove);
      delta = -remove;
    } else {
      out = INDENT + line;
      delta = INDENT.length;
    }
    if (i === 0) firstDelta = delta;
    total += delta;
    return out;
  });
  const next = text.slice(0, lineStart) + changed.join("\n") + text.slice(end);
  return { text: next, start: Math.max(lineStart, start + firstDelta), end: end + total };
}

export function CodeEditor(p: LeafProps): JSX.Element {
  const ref = useRef<HTMLTextAreaElement>(null);
  const pendingSelection = useRef<[number, number] | null>(null);

  useLayoutEffect(() => {
    const sel = pendingSelection.current;
    if (sel && ref.current) {
      ref.current.setSelectionRange(sel[0], sel[1]);
      pendingSelection.current = null;
    }
  });

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key !== "Tab" || e.ctrlKey || e.altKey || e.metaKey) return;
    e.preventDefault();
    const el = e.currentTarget;
    const edit = indentEdit(el.value, el.selectionStart, el.selectionEnd, e.shiftKey);
    pendingSelection.current = [edit.start, edit.end];
    p.onChange(edit.text);
  };

  const text = displayText(p.value);
  return (
    <textarea
      ref={ref}
      id={p.id}
      className="nf-input nf-textarea nf-mono nf-code"
      value={text}
      rows={Math.min(18, Math.max(p.compact ? 3 : 6, text.split("\n").length + 1))}
      spellCheck={false}
      autoCapitalize="off"
      autoCorrect="off"
      wrap="off"
      aria-invalid={p.invalid || undefined}
      disabled={p.disabled}
      onKeyDown={onKeyDown}
      onChange={(e) => p.onChange(e.target.value)}
    />
  );
}
