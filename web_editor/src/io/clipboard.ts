// Copying text where the async clipboard API may be missing: it only exists in secure contexts,
// and an editor opened at http://<LAN IP>:1880 on a tablet is not one.

export type CopyOutcome = "clipboard" | "execCommand" | "manual";

function selectAll(el: HTMLTextAreaElement): void {
  el.focus();
  el.select();
  el.setSelectionRange(0, el.value.length);
}

/** Copies `text`; `area` (showing the same text) is selected for the fallbacks. */
export async function copyText(text: string, area: HTMLTextAreaElement | null): Promise<CopyOutcome> {
  const clip = typeof navigator !== "undefined" ? navigator.clipboard : undefined;
  if (clip && typeof clip.writeText === "function" && window.isSecureContext) {
    try {
      await clip.writeText(text);
      return "clipboard";
    } catch {
      // Permission refused or document not focused: the older route below may still work.
    }
  }
  if (!area) return "manual";
  selectAll(area);
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  // Leave the text selected either way, so Ctrl+C works when the browser refused.
  selectAll(area);
  return ok ? "execCommand" : "manual";
}
