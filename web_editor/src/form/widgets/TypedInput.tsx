// A Node-RED style typed input: a type selector (msg/flow/global/str/num/bool/json/...) and a
// value editor suited to that type. The form data is {value, type}; convert.ts writes the type
// back to the node's type field (payloadType, tot, vt...).
import type { JSX } from "react";
import { isPlainObject } from "../convert";
import { typeInfo, valueForNewType } from "../typedTypes";
import { coerceLike, displayText, type LeafProps } from "./types";

export function TypedInput(p: LeafProps): JSX.Element {
  const pair = isPlainObject(p.value) ? p.value : { value: p.value };
  const type = typeof pair.type === "string" ? pair.type : "";
  const value = pair.value;
  const types = [...(p.spec.typed?.types ?? [])];
  if (type !== "" && !types.includes(type)) types.unshift(type); // never hide the node's current type
  const info = typeInfo(type);
  const emit = (next: { value?: unknown; type?: unknown }): void => p.onChange({ ...pair, ...next });
  const valueId = `${p.id}__value`;

  let editor: JSX.Element | null;
  switch (info.editor) {
    case "none":
      editor = null;
      break;
    case "bool":
      editor = (
        <select
          id={valueId}
          className="nf-input nf-typed-value"
          value={displayText(value) === "false" ? "false" : "true"}
          aria-invalid={p.invalid || undefined}
          disabled={p.disabled}
          onChange={(e) => emit({ value: typeof value === "boolean" ? e.target.value === "true" : e.target.value })}
        >
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      );
      break;
    case "json":
    case "expression":
      editor = (
        <textarea
          id={valueId}
          className="nf-input nf-typed-value nf-textarea nf-mono"
          rows={info.editor === "json" ? 3 : 2}
          value={displayText(value)}
          placeholder={info.editor === "json" ? '{"key": "value"}' : "JSONata expression"}
          spellCheck={false}
          aria-invalid={p.invalid || undefined}
          disabled={p.disabled}
          onChange={(e) => emit({ value: e.target.value })}
        />
      );
      break;
    default:
      editor = (
        <input
          id={valueId}
          type={info.editor === "secret" ? "password" : "text"}
          autoComplete={info.editor === "secret" ? "new-password" : undefined}
          inputMode={info.editor === "number" ? "decimal" : undefined}
          className={`nf-input nf-typed-value${info.editor === "regex" || info.editor === "bytes" ? " nf-mono" : ""}`}
          value={displayText(value)}
          placeholder={p.compact ? p.spec.title : info.editor === "regex" ? "regular expression" : undefined}
          spellCheck={false}
          aria-invalid={p.invalid || undefined}
          disabled={p.disabled}
          onChange={(e) => emit({ value: coerceLike(value, e.target.value) })}
        />
      );
  }

  return (
    <div className={`nf-typed${editor && (info.editor === "json" || info.editor === "expression") ? " nf-typed-wide" : ""}`}>
      <select
        id={p.id}
        className="nf-input nf-typed-type"
        value={type}
        title={`${p.spec.title}: type`}
        aria-label={`${p.spec.title} type`}
        disabled={p.disabled}
        onChange={(e) => emit({ type: e.target.value, value: valueForNewType(e.target.value, value) })}
      >
        {type === "" && <option value="">type…</option>}
        {types.map((t) => (
          <option key={t} value={t}>
            {typeInfo(t).label}
          </option>
        ))}
      </select>
      {editor}
    </div>
  );
}
