import type { FlowNode } from "../types";

/** What every field of the node form can reach through rjsf's formContext. */
export interface NodeFormContext {
  nodeType: string;
  configNodes: FlowNode[];
  addConfigNode?: (type: string) => FlowNode | void;
  /** Open a config node's own panel above this one (this form keeps its unsaved edits). */
  editConfigNode?: (id: string) => void;
}
