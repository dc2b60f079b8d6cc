import { type FormEvent, useCallback, useEffect, useState } from "react";
import { can } from "../access.ts";
import { api } from "../api.ts";
import { Dialog, ErrorText, toast } from "../components/ui.tsx";
import { formatDateTime } from "../format.ts";

interface User {
  id: number;
  email: string;
  name: string | null;
  role: "owner" | "staff" | "picker";
  disabled: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
}

// The full table is under Settings → Roles & access (src/http/permissions.ts).
const ROLES = [
  { id: "owner", label: "Owner", help: "everything, including users, connections and settings" },
  { id: "staff", label: "Staff", help: "orders, shipping, statuses, inventory adjustments, syncs" },
  {
    id: "picker",
    label: "Picker",
    help: "sees orders, prints, picks and packs; marks shipped unless an owner switched that off",
  },
] as const;

function state(u: User): string {
  if (u.disabled) return "Disabled";
  if (u.lockedUntil && Date.parse(u.lockedUntil) > Date.now()) return "Locked";
  return "Active";
}

/** Settings → Users: who may sign in, with what role, and cutting someone off (owners; staff read). */
export function UsersPage({ meId }: { meId: number | null }) {
  const manage = can("users.manage");
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<
    { kind: "add" } | { kind: "password"; user: User } | { kind: "delete"; user: User } | null
  >(null);
  const load = useCallback(async () => {
    try {
      setUsers((await api<{ users: User[] }>("GET", "/api/users")).users);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  async function act(text: string, fn: () => Promise<unknown>) {
    try {
      await fn();
      toast(text);
      await load();
    } catch (err) {
      setError(err);
    }
  }
  const patch = (u: User, body: object) => api("PATCH", `/api/users/${u.id}`, body);

  return (
    <div className="stack users-section">
      {manage ? (
        <div className="actions">
          <button type="button" className="primary" onClick={() => setDialog({ kind: "add" })}>
            Add user
          </button>
        </div>
      ) : null}
      <ErrorText error={error} />
      <div className="table-wrap">
        <table className="users">
          <thead>
            <tr>
              <th>E-mail</th>
              <th className="col-name">Name</th>
              <th>Role</th>
              <th>State</th>
              <th className="col-last">Last sign-in</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(users ?? []).map((u) => (
              <tr key={u.id} data-user={u.email} className={u.disabled ? "disabled" : ""}>
                <td className="col-email">
                  {u.email}
                  {u.id === meId ? <span className="muted"> (you)</span> : null}
                </td>
                <td className="col-name">{u.name ?? ""}</td>
                <td>
                  <label>
                    <span className="sr-only">Role of {u.email}</span>
                    <select
                      disabled={!manage}
                      value={u.role}
                      onChange={(e) =>
                        void act(`${u.email} is now ${e.target.value}`, () =>
                          patch(u, { role: e.target.value }),
                        )
                      }
                    >
                      {ROLES.map((r) => (
                        <option key={r.id} value={r.id}>
                          {r.label}
                        </option>
                      ))}
                    </select>
                  </label>
                </td>
                <td>
                  <span className={`user-state user-${state(u).toLowerCase()}`}>{state(u)}</span>
                </td>
                <td className="col-last">{u.lastLoginAt ? formatDateTime(u.lastLoginAt) : "never"}</td>
                <td className="col-actions" hidden={!manage}>
                  <div className="user-actions">
                    <button
                      type="button"
                      className="small"
                      onClick={() =>
                        void act(`${u.email} is ${u.disabled ? "enabled" : "disabled"}`, () =>
                          patch(u, { disabled: !u.disabled }),
                        )
                      }
                    >
                      {u.disabled ? "Enable" : "Disable"}
                    </button>
                    <button
                      type="button"
                      className="small"
                      onClick={() => setDialog({ kind: "password", user: u })}
                    >
                      Reset password
                    </button>
                    <button
                      type="button"
                      className="small"
                      onClick={() =>
                        void act(`${u.email} is signed out everywhere`, () =>
                          api("POST", `/api/users/${u.id}/logout`, {}),
                        )
                      }
                    >
                      Sign out everywhere
                    </button>
                    <button
                      type="button"
                      className="small danger"
                      onClick={() => setDialog({ kind: "delete", user: u })}
                    >
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small-text">
        Disabling someone ends their sessions and stops their API tokens at once; enable them again to let
        them back in. Deleting also removes their tokens; the audit log keeps what they did.
      </p>
      {dialog?.kind === "add" ? (
        <AddUserDialog
          onClose={() => setDialog(null)}
          onDone={(email) => {
            setDialog(null);
            toast(`Added ${email}`);
            void load();
          }}
        />
      ) : null}
      {dialog?.kind === "password" ? (
        <PasswordDialog
          user={dialog.user}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            toast(`New password set for ${dialog.user.email}; their sessions ended`);
          }}
        />
      ) : null}
      {dialog?.kind === "delete" ? (
        <Dialog title={`Delete ${dialog.user.email}?`} onClose={() => setDialog(null)}>
          <div className="stack">
            <p>
              They can no longer sign in, and their API tokens stop. This cannot be undone: disable them
              instead to keep the account.
            </p>
            <div className="actions">
              <button type="button" onClick={() => setDialog(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="primary"
                onClick={() => {
                  const u = dialog.user;
                  setDialog(null);
                  void act(`Deleted ${u.email}`, () => api("DELETE", `/api/users/${u.id}`));
                }}
              >
                Delete user
              </button>
            </div>
          </div>
        </Dialog>
      ) : null}
    </div>
  );
}

function AddUserDialog(props: { onClose: () => void; onDone: (email: string) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    try {
      const name = String(f.get("name") ?? "").trim();
      const res = await api<{ user: User }>("POST", "/api/users", {
        email: String(f.get("email")),
        password: String(f.get("password")),
        role: String(f.get("role")),
        // Choosing "Owner" here is the explicit ask the API wants before adding a second owner.
        force: String(f.get("role")) === "owner",
        ...(name ? { name } : {}),
      });
      props.onDone(res.user.email);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog title="Add a user" onClose={props.onClose}>
      <form className="stack" onSubmit={submit}>
        <label>
          E-mail
          <input name="email" type="email" required autoComplete="off" />
        </label>
        <label>
          Name (optional)
          <input name="name" autoComplete="off" />
        </label>
        <label>
          Role
          <select name="role" defaultValue="staff">
            {ROLES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label} — {r.help}
              </option>
            ))}
          </select>
        </label>
        <label>
          Password (at least 10 characters)
          <input name="password" type="password" required minLength={10} autoComplete="new-password" />
        </label>
        <ErrorText error={error} />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Add user
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function PasswordDialog(props: { user: User; onClose: () => void; onDone: () => void }) {
  const [error, setError] = useState<unknown>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const password = String(new FormData(e.currentTarget).get("password"));
    try {
      await api("POST", `/api/users/${props.user.id}/password`, { password });
      props.onDone();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <Dialog title={`New password for ${props.user.email}`} onClose={props.onClose}>
      <form className="stack" onSubmit={submit}>
        <label>
          New password (at least 10 characters)
          <input name="password" type="password" required minLength={10} autoComplete="new-password" />
        </label>
        <small className="muted">Their sessions end; tell them the new password another way.</small>
        <ErrorText error={error} />
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Set password
          </button>
        </div>
      </form>
    </Dialog>
  );
}
