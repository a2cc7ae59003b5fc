// Plain leaf editors: text, number, checkbox, select, GPIO pin, topic.
import type { JSX } from "react";
import { GPIO_PINS } from "../gpio";
import type { EnumOption } from "../spec";
import { coerceLike, displayText, type LeafProps } from "./types";

const placeholderOf = (p: LeafProps): string | undefined =>
  p.compact ? p.spec.title : p.spec.hasDefault && p.spec.default !== "" && p.spec.default !== null ? `default: ${displayText(p.spec.default)}` : undefined;

export function TextInput(p: LeafProps & { monospace?: boolean }): JSX.Element {
  const text = displayText(p.value);
  if (text.includes("\n")) return <TextArea {...p} />; // a multi-line value must not be flattened by an <input>
  return (
    <input
      id={p.id}
      type="text"
      className={`nf-input${p.monospace ? " nf-mono" : ""}`}
      value={text}
      placeholder={placeholderOf(p)}
      title={p.compact ? p.spec.title : undefined}
      aria-invalid={p.invalid || undefined}
      disabled={p.disabled}
      spellCheck={false}
      onChange={(e) => p.onChange(coerceLike(p.value, e.target.value))}
    />
  );
}

export function TextArea(p: LeafProps & { monospace?: boolean }): JSX.Element {
  return (
    <textarea
      id={p.id}
      className={`nf-input nf-textarea${p.monospace ? " nf-mono" : ""}`}
      value={displayText(p.value)}
      rows={p.compact ? 2 : 4}
      placeholder={placeholderOf(p)}
      aria-invalid={p.invalid || undefined}
      disabled={p.disabled}
      onChange={(e) => p.onChange(e.target.value)}
    />
  );
}

export function NumberInput(p: LeafProps): JSX.Element {
  const onChange = (text: string): void => {
    if (text.trim() === "") {
      // Node-RED writes "" for a blank number; keep null where the node had null.
      p.onChange(typeof p.value === "string" || !(p.value === null || p.spec.nullable) ? "" : null);
      return;
    }
    const numeric = Number.isFinite(Number(text));
    p.onChange(numeric && typeof p.value !== "string" ? Number(text) : text);
  };
  return (
    <input
      id={p.id}
      type="text"
      inputMode="decimal"
      className="nf-input nf-number"
      value={displayText(p.value)}
      placeholder={placeholderOf(p)}
      title={p.compact ? p.spec.title : undefined}
      aria-invalid={p.invalid || undefined}
      disabled={p.disabled}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

export function Checkbox(p: LeafProps): JSX.Element {
  const checked = p.value === true || p.value === "true";
  return (
    <label className="nf-check" htmlFor={p.id}>
      <input
        id={p.id}
        type="checkbox"
        checked={checked}
        disabled={p.disabled}
        onChange={(e) => p.onChange(typeof p.value === "string" ? String(e.target.checked) : e.target.checked)}
      />
      <span>{p.spec.title}</span>
    </label>
  );
}

/** A select over `options` that never loses a value it doesn't know: that value is listed too. */
export function Select(p: LeafProps & { options: EnumOption[]; blankLabel?: string }): JSX.Element {
  const options = [...p.options];
  const known = options.some((o) => o.value === p.value);
  if (!known && p.value !== undefined && p.value !== null && p.value !== "") {
    options.unshift({ value: p.value as EnumOption["value"], label: `${displayText(p.value)} (current)` });
  }
  const index = options.findIndex((o) => o.value === p.value);
  return (
    <select
      id={p.id}
      className="nf-input nf-select"
      value={index >= 0 ? String(index) : ""}
      title={p.compact ? p.spec.title : undefined}
      aria-invalid={p.invalid || undefined}
      disabled={p.disabled}
      onChange={(e) => {
        const chosen = options[Number(e.target.value)];
        p.onChange(e.target.value === "" ? "" : chosen?.value);
      }}
    >
      {index < 0 && <option value="">{p.blankLabel ?? (p.compact ? p.spec.title : "—")}</option>}
      {options.map((o, i) => (
        <option key={`${i}:${String(o.value)}`} value={String(i)}>
          {o.label}
        </option>
      ))}
    </select>
  );
}

export function GpioSelect(p: LeafProps): JSX.Element {
  // The value keeps its kind: Node-RED nodes store pins as strings, some as numbers.
  const asNumber = typeof p.value === "number";
  const options: EnumOption[] = GPIO_PINS.map((pin) => ({ value: asNumber ? pin.bcm : String(pin.bcm), label: pin.label }));
  return <Select {...p} options={options} blankLabel="— choose a pin —" />;
}
