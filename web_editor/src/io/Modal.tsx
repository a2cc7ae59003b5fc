// A small modal shell shared by the import, export and search dialogs.
import { useEffect, useId, useRef, type JSX, type ReactNode } from "react";
import "./io.css";

export function Modal(props: {
  title: string;
  testId: string;
  onClose(): void;
  children: ReactNode;
  footer?: ReactNode;
  className?: string;
}): JSX.Element {
  const titleId = useId();
  const box = useRef<HTMLDivElement>(null);
  const { onClose } = props;

  useEffect(() => {
    // Keyboard users land inside the dialog; an autofocused child keeps its focus.
    const el = box.current;
    if (el && !el.contains(document.activeElement)) el.focus();
  }, []);

  return (
    <div
      className="fe-io-overlay"
      onMouseDown={(e) => {
        // Only a press that starts on the backdrop closes: a text selection dragged out of the dialog must not.
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <div
        ref={box}
        className={`fe-io-modal ${props.className ?? ""}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid={props.testId}
        tabIndex={-1}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            onClose();
          }
        }}
      >
        <header className="fe-io-header">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" className="fe-io-close" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <div className="fe-io-body">{props.children}</div>
        {props.footer && <footer className="fe-io-footer">{props.footer}</footer>}
      </div>
    </div>
  );
}
