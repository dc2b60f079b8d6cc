import { useCallback, useEffect, useState } from "react";
import { can, setPermissions } from "./access.ts";
import { ApiError, api, type Me, setCsrf } from "./api.ts";
import { LiveNotices } from "./components/live-notices.tsx";
import { ErrorText, Toasts } from "./components/ui.tsx";
import { type MarketplaceInfo, setMarketplaces } from "./format.ts";
import { startLive } from "./live.ts";
import { IntegrationsPage } from "./pages/integrations.tsx";
import { InventoryPage } from "./pages/inventory.tsx";
import { LoginPage, SetupPage } from "./pages/login.tsx";
import { OrdersPage } from "./pages/orders.tsx";
import { PackPage } from "./pages/pack.tsx";
import { PickPage } from "./pages/pick.tsx";
import { RulesPage } from "./pages/rules.tsx";
import { SettingsPage } from "./pages/settings.tsx";
import { SyncLogPage } from "./pages/sync-log.tsx";
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
      setPermissions(me.permissions);
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

/** A top-bar entry; `action` (of the permissions table) hides it from those who may not. */
interface NavItem {
  path: string;
  label: string;
  action?: string;
}

const NAV: NavItem[] = [
  { path: "/", label: "Orders" },
  { path: "/pick", label: "Pick", action: "pick.work" },
  { path: "/inventory", label: "Inventory" },
  { path: "/integrations", label: "Integrations" },
  { path: "/sync-log", label: "Sync log" },
  { path: "/rules", label: "Rules", action: "rules.read" },
  // Everyone sees Settings: owners change it, others read what they may (each section checks).
  { path: "/settings", label: "Settings" },
];

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => startLive(), []);
  const page = path.startsWith("/inventory") ? (
    <InventoryPage />
  ) : path.startsWith("/integrations") ? (
    <IntegrationsPage />
  ) : path.startsWith("/pick") ? (
    <PickPage />
  ) : path.startsWith("/pack") ? (
    <PackPage />
  ) : path.startsWith("/sync-log") ? (
    <SyncLogPage />
  ) : path.startsWith("/rules") && can("rules.read") ? (
    <RulesPage />
  ) : path.startsWith("/settings") ? (
    <SettingsPage me={me} />
  ) : (
    <OrdersPage />
  );
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Orderhub</span>
        {/* On a phone the menu folds behind this button. */}
        <button
          type="button"
          className="menu-button"
          aria-label="Menu"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((x) => !x)}
        >
          ☰
        </button>
        <nav aria-label="Main" id="main-nav" className={menuOpen ? "open" : undefined}>
          {NAV.filter((n) => !n.action || can(n.action)).map((n) => {
            const active =
              n.path === "/" ? path === "/" || path.startsWith("/orders") : path.startsWith(n.path);
            return (
              <a
                key={n.path}
                href={n.path}
                aria-current={active ? "page" : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  setMenuOpen(false);
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
      {/* New orders in one toast per few seconds; failures that need the seller. Quiet otherwise. */}
      <LiveNotices />
    </div>
  );
}
