import { type FormEvent, useState } from "react";
import { ApiError, api, setCsrf } from "../api.ts";
import { ErrorText } from "../components/ui.tsx";

export function LoginPage({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // One e-mail and password that open several accounts: the server names them, the seller picks one.
  const [accounts, setAccounts] = useState<{ slug: string; name: string }[] | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ csrfToken: string }>("POST", "/api/auth/login", {
        email: String(f.get("email")),
        password: String(f.get("password")),
        ...(f.get("account") ? { account: String(f.get("account")) } : {}),
      });
      setCsrf(res.csrfToken);
      onDone();
    } catch (err) {
      if (err instanceof ApiError && err.code === "choose_account") {
        setAccounts((err.details as { accounts: { slug: string; name: string }[] }).accounts);
      } else setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="auth-page">
      <form className="card auth" onSubmit={submit}>
        <h1>Sign in to Orderhub</h1>
        <label>
          E-mail
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {accounts ? (
          <label>
            Account
            <select name="account" required>
              {accounts.map((a) => (
                <option key={a.slug} value={a.slug}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <ErrorText error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}

export function SetupPage({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const email = String(f.get("email"));
      const password = String(f.get("password"));
      await api("POST", "/api/setup", {
        accountName: String(f.get("accountName")),
        email,
        password,
        name: String(f.get("name") || "") || undefined,
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      });
      const res = await api<{ csrfToken: string }>("POST", "/api/auth/login", { email, password });
      setCsrf(res.csrfToken);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="auth-page">
      <form className="card auth" onSubmit={submit}>
        <h1>Welcome to Orderhub</h1>
        <p className="muted">Create the owner of this Orderhub. You can invite staff and pickers later.</p>
        <label>
          Store name
          <input name="accountName" required defaultValue="My store" />
        </label>
        <label>
          Your name
          <input name="name" autoComplete="name" />
        </label>
        <label>
          E-mail
          <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password (at least 10 characters)
          <input name="password" type="password" minLength={10} autoComplete="new-password" required />
        </label>
        <ErrorText error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating…" : "Create owner and sign in"}
        </button>
      </form>
    </div>
  );
}
