// Short notices at the bottom of the screen.
import { useEditor } from "../store/editorStore";

export function Toasts() {
  const toasts = useEditor((s) => s.toasts);
  return (
    <div className="fe-toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`fe-toast fe-toast-${t.kind}`} data-testid="toast" data-kind={t.kind}>{t.text}</div>
      ))}
    </div>
  );
}
