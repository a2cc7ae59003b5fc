import type { FlowNode } from "../types";

/** What every field of the node form can reach through rjsf's formContext. */
export interface NodeFormContext {
  nodeType: string;
  configNodes: FlowNode[];
  addConfigNode?: (type: string) => FlowNode | void;
}
