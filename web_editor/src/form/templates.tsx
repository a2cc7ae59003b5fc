// rjsf templates for the node panel: labelled fields with help under them, compact rows for
// arrays of objects (change/switch rules, inject props) with move/remove buttons.
import { Fragment, useState, type JSX } from "react";
import type {
  ArrayFieldItemTemplateProps, ArrayFieldTemplateProps, FieldTemplateProps, ObjectFieldTemplateProps, RJSFSchema, TemplatesType,
} from "@rjsf/utils";
import type { NodeFormContext } from "./context";
import { deepEqual, isPlainObject } from "./convert";
import { uiOptionsOf } from "./NodeFormField";
import { parsePipeEnum, type PropSpec } from "./spec";

type T = unknown;
type S = RJSFSchema;
type F = NodeFormContext;

const pathOf = (path: (string | number)[]): string => path.join(".");

export function ErrorLines({ errors }: { errors: string[] | undefined }): JSX.Element | null {
  const list = (errors ?? []).filter((e) => typeof e === "string" && e !== "");
  if (!list.length) return null;
  return (
    <ul className="nf-errors" role="alert">
      {list.map((e, i) => (
        <li key={i} className={e.startsWith("warning:") ? "nf-warning" : undefined}>{e}</li>
      ))}
    </ul>
  );
}

/** Description under the field, unless it only repeats the options a select already shows. */
function helpText(spec: PropSpec): string {
  if (!spec.description) return "";
  if (spec.kind === "enum" && parsePipeEnum(spec.description)) return "";
  if (spec.kind === "typed" && /^\[\{/.test(spec.description)) return "";
  return spec.description;
}

function FieldTemplate(props: FieldTemplateProps<T, S, F>): JSX.Element {
  const { id, children, rawErrors, hidden, uiSchema, fieldPathId, required, label } = props;
  if (hidden) return <div hidden>{children}</div>;
  const { spec, compact } = uiOptionsOf(uiSchema);
  const path = pathOf(fieldPathId.path);
  // The root's own errors are listed at the top of the panel instead.
  if (fieldPathId.path.length === 0) return <div className="nf-root">{children}</div>;
  const invalid = (rawErrors?.length ?? 0) > 0;
  if (!spec) {
    // An object inside a row: its errors (e.g. "rules[1]") show under the row.
    return (
      <div className="nf-row-body" data-field={path}>
        {children}
        <ErrorLines errors={rawErrors} />
      </div>
    );
  }
  const cls = `nf-field nf-kind-${spec.kind}${invalid ? " nf-invalid" : ""}`;
  if (spec.kind === "rows" || spec.kind === "group") {
    return (
      <div className={cls} data-field={path}>
        {children}
        <ErrorLines errors={rawErrors} />
      </div>
    );
  }
  if (compact) {
    // Inside a row the placeholder names a text field; selects and typed inputs get a small caption.
    const caption = spec.kind === "typed" || spec.kind === "noderef" || spec.kind === "gpio";
    return (
      <div className={`nf-cell ${cls}`} data-field={path} title={spec.description || spec.title}>
        <div className="nf-cell-line">
          {caption && <label className="nf-cell-label" htmlFor={id}>{spec.title}</label>}
          {children}
        </div>
        <ErrorLines errors={rawErrors} />
      </div>
    );
  }
  const help = helpText(spec);
  return (
    <div className={cls} data-field={path}>
      {spec.kind !== "boolean" && (
        <label className="nf-label" htmlFor={id}>
          {label || spec.title}
          {required && <span className="nf-required" aria-hidden="true"> *</span>}
        </label>
      )}
      {children}
      {help && <div className="nf-help">{help}</div>}
      <ErrorLines errors={rawErrors} />
    </div>
  );
}

/** A value nobody set: blank, false, or the schema default. */
function isUnset(spec: PropSpec, value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === false || value === "false") return true;
  if (spec.hasDefault && deepEqual(value, spec.default)) return true;
  if (spec.kind === "typed" && isPlainObject(value)) {
    const blank = value.value === undefined || value.value === null || value.value === "";
    const t = value.type;
    return blank && (t === undefined || t === null || t === "" || (spec.typed?.typeHasDefault === true && t === spec.typed.typeDefault));
  }
  return false;
}

/** How many leading fields of a row always show; later ones show only when set (or via "more"). */
const ROW_PRIMARY = 3;

/**
 * One row of an array (a change rule, a switch rule...): fields inline, and the rarely used ones
 * that hold nothing (second value, deep copy, a row name) folded behind a "+N" button.
 */
function RowFields(props: ObjectFieldTemplateProps<T, S, F>): JSX.Element {
  const { properties, uiSchema, formData, errorSchema } = props;
  const [expanded, setExpanded] = useState(false);
  const data = isPlainObject(formData) ? formData : {};
  const errors = isPlainObject(errorSchema) ? errorSchema : {};
  let rank = 0;
  const folded = new Set<string>();
  for (const p of properties) {
    const spec = uiOptionsOf(uiSchema?.[p.name]).spec;
    if (!spec || p.hidden) continue;
    const primary = spec.key !== "name" && rank++ < ROW_PRIMARY;
    if (!primary && isUnset(spec, data[p.name]) && !(p.name in errors)) folded.add(p.name);
  }
  const shown = properties.filter((p) => !p.hidden && (expanded || !folded.has(p.name)));
  return (
    <div className="nf-row-fields">
      {shown.map((p) => <Fragment key={p.name}>{p.content}</Fragment>)}
      {folded.size > 0 && (
        <button
          type="button"
          className="nf-icon nf-more"
          title={expanded ? "hide unused fields" : `show ${folded.size} more: ${[...folded].join(", ")}`}
          aria-expanded={expanded}
          data-testid="row-more"
          onClick={() => setExpanded((e) => !e)}
        >
          {expanded ? "−" : `+${folded.size}`}
        </button>
      )}
    </div>
  );
}

function ObjectFieldTemplate(props: ObjectFieldTemplateProps<T, S, F>): JSX.Element {
  const { properties, uiSchema, fieldPathId, title } = props;
  const { compact, spec } = uiOptionsOf(uiSchema);
  if (compact && !spec) return <RowFields {...props} />;
  const content = properties.map((p) => (p.hidden ? null : <Fragment key={p.name}>{p.content}</Fragment>));
  if (fieldPathId.path.length === 0) return <div className="nf-fields">{content}</div>;
  return (
    <fieldset className="nf-group">
      <legend className="nf-label">{spec?.title ?? title}</legend>
      {spec?.description && <div className="nf-help">{spec.description}</div>}
      {content}
    </fieldset>
  );
}

function ArrayFieldTemplate(props: ArrayFieldTemplateProps<T, S, F>): JSX.Element {
  const { items, canAdd, onAddClick, uiSchema, title, disabled, readonly, fieldPathId } = props;
  const { spec } = uiOptionsOf(uiSchema);
  const help = spec?.description && !/^\[\{/.test(spec.description) ? spec.description : "";
  return (
    <div className="nf-rows" id={fieldPathId.$id}>
      <div className="nf-rows-head">
        <span className="nf-label">{spec?.title ?? title}</span>
        <span className="nf-count">{items.length}</span>
      </div>
      {help && <div className="nf-help">{help}</div>}
      {items.length > 0 ? <ol className="nf-row-list">{items}</ol> : <div className="nf-empty">none</div>}
      {canAdd && (
        <button type="button" className="nf-btn nf-add" onClick={onAddClick} disabled={disabled || readonly} data-testid="row-add">
          + add
        </button>
      )}
    </div>
  );
}

function ArrayFieldItemTemplate(props: ArrayFieldItemTemplateProps<T, S, F>): JSX.Element {
  const { children, buttonsProps: b, index, hasToolbar } = props;
  return (
    <li className="nf-row" data-row={index}>
      <span className="nf-row-index" aria-hidden="true">{index + 1}</span>
      <div className="nf-row-content">{children}</div>
      {hasToolbar && (
        <div className="nf-row-tools">
          {b.hasMoveUp || b.hasMoveDown ? (
            <>
              <button type="button" className="nf-icon" title="move up" aria-label={`move row ${index + 1} up`} disabled={!b.hasMoveUp || b.disabled} onClick={b.onMoveUpItem}>↑</button>
              <button type="button" className="nf-icon" title="move down" aria-label={`move row ${index + 1} down`} disabled={!b.hasMoveDown || b.disabled} onClick={b.onMoveDownItem}>↓</button>
            </>
          ) : null}
          {b.hasRemove && (
            <button type="button" className="nf-icon nf-danger" title="remove" aria-label={`remove row ${index + 1}`} disabled={b.disabled} onClick={b.onRemoveItem} data-testid="row-remove">✕</button>
          )}
        </div>
      )}
    </li>
  );
}

export const nodeFormTemplates: Partial<TemplatesType<T, S, F>> = {
  FieldTemplate,
  ObjectFieldTemplate,
  ArrayFieldTemplate,
  ArrayFieldItemTemplate,
};
