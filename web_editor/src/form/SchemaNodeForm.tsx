// The generated form for a node type with a schema (and for subflow instances).
import { useEffect, useMemo, useRef, useState, type JSX } from "react";
import Form from "@rjsf/core";
import type { IChangeEvent } from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import type { NodeFormContext } from "./context";
import { CredentialsSection } from "./CredentialsSection";
import { deepEqual, fillDefaults, formDataToNode, isPlainObject, nodeToFormData, type JsonObject } from "./convert";
import { LEAF_FIELD, objectSchema, rootUi } from "./rjsfSchema";
import { NodeFormField } from "./NodeFormField";
import { PanelShell } from "./PanelShell";
import { asErrorSchema, countErrors, mergeErrorTrees, placeProblems, type ErrorTree } from "./problems";
import type { FormSpec } from "./spec";
import type { NodeEditorPanelProps } from "./NodeEditorPanel";
import { nodeFormTemplates } from "./templates";
import { validateFormData } from "./validate";

interface Props extends NodeEditorPanelProps {
  spec: FormSpec;
}

const fields = { [LEAF_FIELD]: NodeFormField };

function valueAt(data: unknown, path: string[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (isPlainObject(cur)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

/** Server errors stay under a field until the user changes that field's value. */
function dropStale(tree: ErrorTree, base: JsonObject, current: JsonObject, path: string[] = []): ErrorTree {
  const out: ErrorTree = {};
  for (const [k, v] of Object.entries(tree)) {
    if (k === "__errors") {
      if (Array.isArray(v) && deepEqual(valueAt(base, path), valueAt(current, path))) out.__errors = v;
    } else if (v && !Array.isArray(v)) {
      const sub = dropStale(v, base, current, [...path, k]);
      if (Object.keys(sub).length) out[k] = sub;
    }
  }
  return out;
}

export function SchemaNodeForm(props: Props): JSX.Element {
  const { node, typeDef, spec, configNodes, problems, onApply, onCancel, onDelete, onAddConfigNode, onEditConfigNode } = props;
  const schema = useMemo<RJSFSchema>(() => objectSchema(spec.root), [spec]);
  const uiSchema = useMemo(() => rootUi(spec.root), [spec]);
  // The panel is keyed by node id, so this is the node as it was when the panel opened.
  const [initial] = useState<JsonObject>(() => fillDefaults(spec.root, nodeToFormData(node, typeDef)));
  const [formData, setFormData] = useState<JsonObject>(initial);
  const baseRef = useRef<JsonObject>(initial);
  const formRef = useRef<Form<unknown, RJSFSchema, NodeFormContext>>(null);
  const [dirty, setDirty] = useState(false);
  const [armed, setArmed] = useState(false);
  const [creds, setCreds] = useState<Record<string, string>>({});

  useEffect(() => {
    // rjsf may add defaults of its own: what it shows first is the baseline for "unchanged".
    const shown = formRef.current?.state.formData;
    if (isPlainObject(shown)) {
      baseRef.current = shown;
      setFormData(shown);
    }
  }, []);

  useEffect(() => {
    // Show the first marked field when Done was refused once.
    if (!armed) return;
    const id = requestAnimationFrame(() => {
      document.querySelector('[data-testid="node-editor-panel"] .nf-errors')?.scrollIntoView({ block: "nearest" });
    });
    return () => cancelAnimationFrame(id);
  }, [armed]);

  const context = useMemo<NodeFormContext>(
    () => ({ nodeType: node.type, configNodes, addConfigNode: onAddConfigNode, editConfigNode: onEditConfigNode }),
    [node.type, configNodes, onAddConfigNode, onEditConfigNode],
  );
  const placed = useMemo(() => placeProblems(problems, spec, node.id), [problems, spec, node.id]);
  const extraErrors = useMemo(() => {
    const server = dropStale(placed.fields, baseRef.current, formData);
    const client = dirty ? validateFormData(spec.root, formData, configNodes) : {};
    return asErrorSchema(mergeErrorTrees(server, client));
  }, [placed, formData, dirty, spec, configNodes]);

  const onChange = (e: IChangeEvent<unknown, RJSFSchema, NodeFormContext>): void => {
    if (isPlainObject(e.formData)) setFormData(e.formData);
    setDirty(true);
    setArmed(false);
  };

  const done = (): void => {
    const shown = formRef.current?.state.formData;
    const current = isPlainObject(shown) ? shown : formData;
    if (!armed) {
      // Client checks only warn: one more Done applies anyway, the server decides on deploy.
      const issues = countErrors(validateFormData(spec.root, current, configNodes)) + validator.validateFormData(current, schema).errors.length;
      if (issues > 0) {
        setDirty(true);
        setArmed(true);
        return;
      }
    }
    const updated = formDataToNode(node, current, typeDef, baseRef.current);
    const typed = Object.fromEntries(Object.entries(creds).filter(([, v]) => v !== ""));
    if (Object.keys(typed).length) {
      const previous = isPlainObject(node.credentials) ? (node.credentials as Record<string, string>) : {};
      updated.credentials = { ...previous, ...typed };
    }
    onApply(updated);
  };

  const changed = dirty && (!deepEqual(formData, baseRef.current) || Object.values(creds).some((v) => v !== ""));
  const { onDirtyChange } = props;
  useEffect(() => onDirtyChange?.(changed), [changed, onDirtyChange]);

  const title = typeDef?.label || node.type;
  const empty = spec.root.props.length === 0 && spec.credentials.length === 0;
  return (
    <PanelShell
      title={title}
      subtitle={typeof node.name === "string" && node.name ? node.name : node.id}
      help={typeDef?.help}
      messages={placed.top}
      doneLabel={armed ? "Apply anyway" : "Done"}
      notice={
        armed ? (
          <div className="nf-notice nf-notice-warn" role="status" data-testid="node-editor-armed">
            Some fields look wrong (marked below). Fix them, or press “Apply anyway”: the server checks again on deploy.
          </div>
        ) : typeDef?.config ? (
          <div className="nf-notice">Configuration node: shared by every node that selects it.</div>
        ) : undefined
      }
      onDone={done}
      onCancel={onCancel}
      onDelete={onDelete}
    >
      {empty ? (
        <div className="nf-empty">This node has no properties to edit.</div>
      ) : (
        <Form<unknown, RJSFSchema, NodeFormContext>
          ref={formRef}
          tagName="div"
          idPrefix="nf"
          schema={schema}
          uiSchema={uiSchema}
          formData={formData}
          formContext={context}
          validator={validator}
          fields={fields}
          templates={nodeFormTemplates}
          extraErrors={extraErrors}
          liveValidate={dirty ? "onChange" : undefined}
          showErrorList={false}
          noHtml5Validate
          onChange={onChange}
        >
          <></>
        </Form>
      )}
      <CredentialsSection
        specs={spec.credentials}
        typed={creds}
        errors={placed.credentials}
        onChange={(key, value) => setCreds((c) => ({ ...c, [key]: value }))}
      />
    </PanelShell>
  );
}
