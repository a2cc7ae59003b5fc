// The side panel frame: title, Delete / Cancel / Done, messages, help, and the editor body.
import { useEffect, useRef, useState, type JSX, type KeyboardEvent, type ReactNode } from "react";
import { gist, HelpText } from "./HelpText";

interface Props {
  title: string;
  subtitle?: string;
  help?: string;
  /** Messages for the node as a whole (server problems without a field, apply warnings). */
  messages: string[];
  notice?: ReactNode;
  doneLabel?: string;
  onDone(): void;
  onCancel(): void;
  onDelete?(): void;
  children: ReactNode;
}

const HELP_KEY = "flowengine.nodeForm.helpOpen";

/** Short help is open; long help folds to its first sentence unless the user opened it before. */
function readHelpOpen(help: string | undefined): boolean {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(HELP_KEY);
  } catch {
    /* storage unavailable */
  }
  if (stored === "0") return false;
  return stored === "1" || (help ?? "").length <= 240;
}

/** Enter applies from a one-line input; selects, buttons and textareas keep their own Enter. */
function appliesOnEnter(target: EventTarget): boolean {
  if (!(target instanceof HTMLInputElement)) return false;
  return !["button", "submit", "reset", "file", "checkbox", "radio"].includes(target.type);
}

export function PanelShell(p: Props): JSX.Element {
  const ref = useRef<HTMLElement>(null);
  const [helpOpen, setHelpOpen] = useState(() => readHelpOpen(p.help));

  useEffect(() => {
    // Focus the panel (not a field: that would pop up a tablet's keyboard) so Escape works at once.
    ref.current?.focus({ preventScroll: true });
  }, []);

  const onKeyDown = (e: KeyboardEvent<HTMLElement>): void => {
    if (e.defaultPrevented || e.nativeEvent.isComposing) return;
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      p.onCancel();
    } else if (e.key === "Enter" && ((e.ctrlKey || e.metaKey) || (!e.shiftKey && !e.altKey && appliesOnEnter(e.target)))) {
      e.preventDefault();
      e.stopPropagation();
      p.onDone();
    }
  };

  const toggleHelp = (open: boolean): void => {
    setHelpOpen(open);
    try {
      localStorage.setItem(HELP_KEY, open ? "1" : "0");
    } catch {
      /* private mode: just don't remember */
    }
  };

  return (
    <aside ref={ref} className="nf-panel" data-testid="node-editor-panel" role="dialog" aria-label={`Edit ${p.title}`} tabIndex={-1} onKeyDown={onKeyDown}>
      <header className="nf-head">
        <div className="nf-titles">
          <div className="nf-title">{p.title}</div>
          {p.subtitle && <div className="nf-subtitle">{p.subtitle}</div>}
        </div>
        <div className="nf-actions">
          {p.onDelete && (
            <button type="button" className="nf-btn nf-danger" onClick={p.onDelete} data-testid="node-editor-delete">Delete</button>
          )}
          <button type="button" className="nf-btn" onClick={p.onCancel} data-testid="node-editor-cancel">Cancel</button>
          <button type="button" className="nf-btn nf-primary" onClick={p.onDone} data-testid="node-editor-done">{p.doneLabel ?? "Done"}</button>
        </div>
      </header>
      <div className="nf-body">
        {p.notice}
        {p.messages.length > 0 && (
          <ul className="nf-errors nf-top-errors" role="alert" data-testid="node-editor-problems">
            {p.messages.map((m, i) => (
              <li key={i} className={m.startsWith("warning:") ? "nf-warning" : undefined}>{m}</li>
            ))}
          </ul>
        )}
        {p.help && (
          <details className="nf-help-box" open={helpOpen} onToggle={(e) => e.currentTarget.open !== helpOpen && toggleHelp(e.currentTarget.open)} data-testid="node-editor-help">
            <summary>
              <b>Help</b>
              <span className="nf-help-gist">{gist(p.help)}</span>
            </summary>
            <HelpText text={p.help} />
          </details>
        )}
        {p.children}
      </div>
    </aside>
  );
}
