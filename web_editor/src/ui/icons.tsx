// A few toolbar icons as inline SVG, so they look the same whatever fonts the device has.
const common = { width: 16, height: 16, viewBox: "0 0 16 16", fill: "none", stroke: "currentColor", strokeWidth: 1.6,
  strokeLinecap: "round" as const, strokeLinejoin: "round" as const, "aria-hidden": true };

export const TrashIcon = () => (
  <svg {...common}><path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 8.5h5.6l.7-8.5M7 7v4M9 7v4" /></svg>
);
export const PauseIcon = () => <svg {...common}><path d="M5.5 3.5v9M10.5 3.5v9" /></svg>;
export const PlayIcon = () => <svg {...common}><path d="M5 3.5l7 4.5-7 4.5z" /></svg>;
export const PlusIcon = () => <svg {...common}><path d="M8 3v10M3 8h10" /></svg>;
export const EditIcon = () => <svg {...common}><path d="M3 13l1-3.5 6.5-6.5 2.5 2.5L6.5 12z" /></svg>;
export const LeftIcon = () => <svg {...common}><path d="M10 3.5L5.5 8l4.5 4.5" /></svg>;
export const RightIcon = () => <svg {...common}><path d="M6 3.5L10.5 8 6 12.5" /></svg>;
export const UndoIcon = () => <svg {...common}><path d="M5.5 3.5L2.5 6.5l3 3M3 6.5h6.5a3.5 3.5 0 010 7H7" /></svg>;
export const RedoIcon = () => <svg {...common}><path d="M10.5 3.5l3 3-3 3M13 6.5H6.5a3.5 3.5 0 000 7H9" /></svg>;
export const MenuIcon = () => <svg {...common}><path d="M2.5 4h11M2.5 8h11M2.5 12h11" /></svg>;
export const SidebarIcon = () => (
  <svg {...common}><rect x="2" y="3" width="12" height="10" rx="1.5" /><path d="M10 3v10" /></svg>
);
