import { useCallback, useEffect, useState } from "react";
import { ApiError, api, type Me, setCsrf } from "./api.ts";
import { ErrorText, Toasts, toast } from "./components/ui.tsx";
import { type MarketplaceInfo, setMarketplaces } from "./format.ts";
import { startLive, useLive } from "./live.ts";
import { IntegrationsPage } from "./pages/integrations.tsx";
import { InventoryPage } from "./pages/inventory.tsx";
import { LoginPage, SetupPage } from "./pages/login.tsx";
import { OrdersPage } from "./pages/orders.tsx";
import { SyncLogPage } from "./pages/sync-log.tsx";
import { UsersPage } from "./pages/users.tsx";
import { navigate, useLocation } from "./router.ts";

type Gate =
  | { kind: "loading" }
  | { kind: "setup" }
  | { kind: "login" }
  | { kind: "in"; me: Me }
  | { kind: "down"; error: unknown };

export function App() {
  const [gate, setGate] = useState<Gate>({ kind: "loading" });
  const check = useCallback(async () => {
    try {
      const setup = await api<{ needed: boolean }>("GET", "/api/setup");
      if (setup.needed) return setGate({ kind: "setup" });
      const me = await api<Me>("GET", "/api/auth/me");
      setCsrf(me.csrfToken);
      setMarketplaces(
        (await api<{ marketplaces: MarketplaceInfo[] }>("GET", "/api/marketplaces")).marketplaces,
      );
      setGate({ kind: "in", me });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setGate({ kind: "login" });
      else setGate({ kind: "down", error: err });
    }
  }, []);
  useEffect(() => {
    void check();
  }, [check]);

  if (gate.kind === "loading") return <div className="center muted">Loading…</div>;
  if (gate.kind === "down")
    return (
      <div className="center">
        <ErrorText error={gate.error} />
        <button type="button" onClick={() => void check()}>
          Try again
        </button>
      </div>
    );
  if (gate.kind === "setup") return <SetupPage onDone={() => void check()} />;
  if (gate.kind === "login") return <LoginPage onDone={() => void check()} />;
  return <Shell me={gate.me} onSignOut={() => setGate({ kind: "login" })} />;
}

const NAV = [
  { path: "/", label: "Orders" },
  { path: "/inventory", label: "Inventory" },
  { path: "/integrations", label: "Integrations" },
  { path: "/sync-log", label: "Sync log" },
  // Settings → Users: owners only.
  { path: "/settings/users", label: "Users", owner: true },
];

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const { path } = useLocation();
  useEffect(() => startLive(), []);
  // Notifications: every sync that ends says so, wherever the seller is.
  useLive((e) => {
    if (e.type !== "sync.progress") return;
    const state = String(e.state);
    if (state === "completed" && Number(e.created) + Number(e.updated) > 0)
      toast(`Sync complete: ${e.created} new, ${e.updated} changed orders`);
    else if (state === "completed_with_errors")
      toast(
        `Sync finished with ${e.failed} failed order${e.failed === 1 ? "" : "s"} — see Integrations`,
        "error",
      );
    else if (state === "failed") toast("A sync failed — see Integrations", "error");
  });
  useLive((e) => {
    if (e.type === "push.updated" && e.state === "failed")
      toast("An update to a marketplace failed and needs you — see the order or Inventory", "error");
  });
  const page = path.startsWith("/inventory") ? (
    <InventoryPage userRole={me.user.role} />
  ) : path.startsWith("/integrations") ? (
    <IntegrationsPage userRole={me.user.role} />
  ) : path.startsWith("/sync-log") ? (
    <SyncLogPage />
  ) : path.startsWith("/settings/users") && me.user.role === "owner" ? (
    <UsersPage meId={me.user.id} />
  ) : (
    <OrdersPage />
  );
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Orderhub</span>
        <nav aria-label="Main">
          {NAV.filter((n) => !("owner" in n) || me.user.role === "owner").map((n) => {
            const active =
              n.path === "/" ? path === "/" || path.startsWith("/orders") : path.startsWith(n.path);
            return (
              <a
                key={n.path}
                href={n.path}
                aria-current={active ? "page" : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(n.path);
                }}
              >
                {n.label}
              </a>
            );
          })}
        </nav>
        <span className="spacer" />
        <span className="muted account">{me.account?.name}</span>
        <button
          type="button"
          className="small"
          onClick={async () => {
            await api("POST", "/api/auth/logout").catch(() => {});
            setCsrf(null);
            onSignOut();
          }}
        >
          Sign out
        </button>
      </header>
      <main>{page}</main>
      <Toasts />
    </div>
  );
}
