// Public surface of the node form module.
export { NodeEditorPanel, type NodeEditorPanelProps } from "./NodeEditorPanel";
export { nodeToFormData, formDataToNode, fillDefaults, specFor } from "./convert";
export { problemsToErrorSchema, placeProblems, parseProblemPath } from "./problems";
export { describeCron, type CronDescription } from "./cron";
export { validateTopic } from "./topic";
export { buildFormSpec } from "./spec";
