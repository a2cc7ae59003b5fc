// Node help as plain text: paragraphs, with `backticks` shown as code. No HTML is interpreted.
import type { JSX } from "react";

function inline(text: string): (string | JSX.Element)[] {
  return text.split(/(`[^`\n]+`)/).map((part, i) => (part.length > 2 && part.startsWith("`") && part.endsWith("`") ? <code key={i}>{part.slice(1, -1)}</code> : part));
}

export function HelpText({ text }: { text: string }): JSX.Element {
  return (
    <>
      {text.split(/\n\s*\n/).map((para, i) => (
        <p key={i}>{inline(para)}</p>
      ))}
    </>
  );
}

/** The first sentence, for the folded help line. */
export function gist(text: string): string {
  const m = /^(.+?[.!?])(\s|$)/s.exec(text.trim());
  return (m ? m[1] : text).replace(/`/g, "").replace(/\s+/g, " ");
}
