// A plain modal dialog: a backdrop, a titled box, Escape closes.
import { useEffect, type ReactNode } from "react";

export function Modal(props: { title: string; testId: string; onClose(): void; children: ReactNode; wide?: boolean }) {
  const { onClose } = props;
  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      if (ev.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="fe-backdrop" onMouseDown={(ev) => { if (ev.target === ev.currentTarget) onClose(); }}>
      <div className={`fe-modal${props.wide ? " fe-modal-wide" : ""}`} role="dialog" aria-label={props.title} data-testid={props.testId}>
        <div className="fe-modal-title">{props.title}</div>
        {props.children}
      </div>
    </div>
  );
}
