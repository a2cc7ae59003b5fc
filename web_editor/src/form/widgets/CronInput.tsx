// Cron expression input with a live plain-English summary and the next run times (browser time zone).
import { useMemo, type JSX } from "react";
import { describeCron } from "../cron";
import { displayText, type LeafProps } from "./types";

const fmt = new Intl.DateTimeFormat(undefined, { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function CronInput(p: LeafProps): JSX.Element {
  const text = displayText(p.value);
  const described = useMemo(() => describeCron(text), [text]);
  return (
    <div className="nf-cron">
      <input
        id={p.id}
        type="text"
        className="nf-input nf-mono"
        value={text}
        placeholder={p.compact ? p.spec.title : "e.g. */5 * * * *  or  30 7 * * 1-5"}
        spellCheck={false}
        autoCapitalize="off"
        aria-invalid={p.invalid || undefined}
        disabled={p.disabled}
        onChange={(e) => p.onChange(e.target.value)}
      />
      {text.trim() !== "" && described.ok && (
        <div className="nf-cron-preview" data-testid="cron-preview">
          <div className="nf-cron-summary">{described.summary}</div>
          <div className="nf-cron-next" title="in this browser's time zone; the engine uses its own">
            next: {described.next.map((d) => fmt.format(d)).join(" · ")}
          </div>
        </div>
      )}
      {text.trim() !== "" && !described.ok && <div className="nf-cron-preview nf-muted">not understood: {described.error}</div>}
    </div>
  );
}
