// Write-only secrets. The server never sends them back, so an empty box means "keep what is
// stored"; only what the user types is sent, in the node's `credentials`.
import type { JSX } from "react";
import type { CredentialSpec } from "./spec";
import { ErrorLines } from "./templates";

interface Props {
  specs: CredentialSpec[];
  typed: Record<string, string>;
  onChange(key: string, value: string): void;
  errors: Record<string, string[]>;
}

export function CredentialsSection({ specs, typed, onChange, errors }: Props): JSX.Element | null {
  if (!specs.length) return null;
  return (
    <section className="nf-creds" aria-label="Credentials">
      <div className="nf-section-title">Credentials</div>
      {specs.map((c) => {
        const id = `nf-cred-${c.key}`;
        const list = errors[c.key];
        return (
          <div key={c.key} className={`nf-field${list?.length ? " nf-invalid" : ""}`} data-field={`credentials.${c.key}`}>
            <label className="nf-label" htmlFor={id}>{c.title}</label>
            <input
              id={id}
              name={`credentials.${c.key}`}
              type={c.kind === "password" ? "password" : "text"}
              className="nf-input"
              value={typed[c.key] ?? ""}
              placeholder="unchanged"
              autoComplete={c.kind === "password" ? "new-password" : "off"}
              spellCheck={false}
              onChange={(e) => onChange(c.key, e.target.value)}
            />
            <div className="nf-help">{c.description || "write-only: leave blank to keep the stored value"}</div>
            <ErrorLines errors={list} />
          </div>
        );
      })}
    </section>
  );
}
