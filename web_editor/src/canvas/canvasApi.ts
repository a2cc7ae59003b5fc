// What the rest of the app may ask of the canvas (centre on a node, where is the mouse), without
// reaching into React Flow. The canvas registers the implementation when it mounts.
import type { XY } from "../store/editorStore";

export interface CanvasApi {
  /** Centres the view on a flow-coordinate point, keeping the zoom. */
  centerOn(point: XY): void;
  /** The flow-coordinate point at the middle of the visible canvas. */
  viewCenter(): XY;
  /** Where the mouse is over the canvas (flow coordinates), or null when it is elsewhere. */
  pointer(): XY | null;
}

const fallback: CanvasApi = {
  centerOn: () => undefined,
  viewCenter: () => ({ x: 200, y: 100 }),
  pointer: () => null,
};

let current: CanvasApi = fallback;

export function registerCanvas(api: CanvasApi | null): void {
  current = api ?? fallback;
}

export const canvasApi: CanvasApi = {
  centerOn: (p) => current.centerOn(p),
  viewCenter: () => current.viewCenter(),
  pointer: () => current.pointer(),
};
