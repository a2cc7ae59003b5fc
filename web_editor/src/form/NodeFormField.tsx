// The one rjsf field that draws every leaf of the node form, choosing the editor from the field model.
import type { JSX } from "react";
import type { FieldProps, RJSFSchema } from "@rjsf/utils";
import type { NodeFormContext } from "./context";
import type { NodeFormUiOptions } from "./rjsfSchema";
import { Checkbox, GpioSelect, NumberInput, Select, TextArea, TextInput } from "./widgets/basic";
import { CodeEditor } from "./widgets/CodeEditor";
import { CronInput } from "./widgets/CronInput";
import { JsonEditor } from "./widgets/JsonEditor";
import { NodeRefSelect } from "./widgets/NodeRefSelect";
import { TypedInput } from "./widgets/TypedInput";
import type { LeafProps } from "./widgets/types";

export function uiOptionsOf(uiSchema: unknown): NodeFormUiOptions {
  const opts = uiSchema && typeof uiSchema === "object" ? (uiSchema as Record<string, unknown>)["ui:options"] : undefined;
  return opts && typeof opts === "object" ? (opts as NodeFormUiOptions) : {};
}

export function NodeFormField(props: FieldProps<unknown, RJSFSchema, NodeFormContext>): JSX.Element | null {
  const { spec, compact = false } = uiOptionsOf(props.uiSchema);
  if (!spec) return null;
  const leaf: LeafProps = {
    id: props.fieldPathId.$id,
    spec,
    value: props.formData,
    onChange: (v) => props.onChange(v, props.fieldPathId.path),
    compact,
    invalid: (props.rawErrors?.length ?? 0) > 0,
    context: props.registry.formContext,
    disabled: props.disabled || props.readonly,
  };
  switch (spec.kind) {
    case "typed":
      return <TypedInput {...leaf} />;
    case "noderef":
      return <NodeRefSelect {...leaf} />;
    case "boolean":
      return <Checkbox {...leaf} />;
    case "number":
      return <NumberInput {...leaf} />;
    case "enum":
      return <Select {...leaf} options={spec.options ?? []} />;
    case "gpio":
      return <GpioSelect {...leaf} />;
    case "cron":
      return <CronInput {...leaf} />;
    case "code":
      return <CodeEditor {...leaf} />;
    case "textarea":
      return <TextArea {...leaf} />;
    case "json":
      return <JsonEditor {...leaf} />;
    case "topic":
      return <TextInput {...leaf} monospace />;
    default:
      return <TextInput {...leaf} />;
  }
}
