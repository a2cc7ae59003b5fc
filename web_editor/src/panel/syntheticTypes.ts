// Type definitions for what the palette does not describe but the node panel still edits: tabs,
// subflow definitions, subflow instances (env overrides) and groups.
import type { FlowNode, JsonSchema, NodeTypeDef } from "../types";

const ENV_SCHEMA: JsonSchema = {
  type: "array",
  title: "Environment variables",
  items: {
    type: "object",
    properties: {
      name: { type: "string", title: "Name" },
      type: { type: "string", title: "Type", default: "str", enum: ["str", "num", "bool", "json", "env", "cred"] },
      value: { type: "string", title: "Value" },
    },
    required: ["name"],
  },
};

function def(type: string, help: string, properties: Record<string, JsonSchema>): NodeTypeDef {
  return {
    type, category: "", inputs: 0, outputs: 0, config: false, help, module: "editor",
    schema: { type: "object", additionalProperties: true, properties },
    color: "", icon: "", label: type, credentials: {},
  };
}

export function syntheticType(node: FlowNode, byId: ReadonlyMap<string, FlowNode>): NodeTypeDef | undefined {
  if (node.type === "tab") {
    return def("tab", "A flow: its nodes run together; env variables are visible to all of them.", {
      label: { type: "string", title: "Name" },
      disabled: { type: "boolean", title: "Disabled", default: false },
      info: { type: "string", title: "Description", "x-widget": "textarea" },
      env: ENV_SCHEMA,
    });
  }
  if (node.type === "subflow") {
    return def("subflow", "A subflow definition: its env variables are the defaults every instance may override.", {
      name: { type: "string", title: "Name" },
      category: { type: "string", title: "Palette category" },
      color: { type: "string", title: "Colour" },
      info: { type: "string", title: "Description", "x-widget": "textarea" },
      env: ENV_SCHEMA,
    });
  }
  if (node.type === "group") {
    return def("group", "A group of nodes, drawn as a box around them.", {
      name: { type: "string", title: "Name" },
      style: {
        type: "object", title: "Style",
        properties: {
          label: { type: "boolean", title: "Show the name", default: true },
          stroke: { type: "string", title: "Border colour" },
          fill: { type: "string", title: "Fill colour" },
        },
      },
    });
  }
  if (node.type.startsWith("subflow:")) {
    const sf = byId.get(node.type.slice(8));
    const defaults = Array.isArray(sf?.env) ? sf.env : [];
    const sfName = typeof sf?.name === "string" && sf.name ? sf.name : "subflow";
    const help = `An instance of subflow “${sf ? sfName : "?"}”. ` + (defaults.length
      ? "Every env variable of the subflow is listed with its default value: change a value to override it for this " +
        "instance (a row left at the default is not stored); add rows for other variables."
      : "Env entries are available to the subflow's nodes as env variables of this instance.");
    return {
      ...def(node.type, help, { name: { type: "string", title: "Name" }, env: ENV_SCHEMA }),
      label: sf ? sfName : node.type,
      inputs: 1, outputs: 1,
    };
  }
  return undefined;
}
