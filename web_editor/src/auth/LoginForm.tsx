// Sign in, when the server has accounts.
import { useState, type FormEvent } from "react";
import { ApiError } from "../api";
import { signIn } from "../store/session";

export function LoginForm() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError("Wrong user name or password.");
      else if (err instanceof ApiError && err.status === 429) setError("Too many attempts: wait a minute and try again.");
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="fe-login-page">
      <form className="fe-login" onSubmit={(e) => void submit(e)} data-testid="login-form">
        <div className="fe-login-title">flowengine</div>
        <label className="fe-field">User name
          <input className="fe-input" autoFocus autoComplete="username" value={username}
            onChange={(e) => setUsername(e.target.value)} data-testid="login-username" />
        </label>
        <label className="fe-field">Password
          <input className="fe-input" type="password" autoComplete="current-password" value={password}
            onChange={(e) => setPassword(e.target.value)} data-testid="login-password" />
        </label>
        {error ? <div className="fe-login-error" data-testid="login-error" role="alert">{error}</div> : null}
        <button type="submit" className="fe-button fe-button-primary" disabled={busy || !username} data-testid="login-submit">
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
