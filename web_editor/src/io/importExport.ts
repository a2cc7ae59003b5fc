// The import/export API the rest of the editor uses; the pieces live in small modules beside it.
import type { FlowDocument } from "../types";
import { parseImport } from "./parse";

export { parseImport };
export { droppedKeysNote, parseImportChecked, parseJsonSafely } from "./parse";
export { mergeImport, type MergeOptions, type MergeResult } from "./merge";
export { exportNodes, type ExportScope } from "./export";
export { newId } from "./ids";
export { summarize, describeSummary, type Summary } from "./classify";

/** Reads a dropped or picked file and parses it like pasted text (errors name the file). */
export async function readImportFile(file: File): Promise<FlowDocument> {
  const text = await file.text();
  try {
    return parseImport(text);
  } catch (e) {
    throw new Error(`${file.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
