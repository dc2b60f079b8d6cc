// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setPermissions } from "../access.ts";
import { InventoryPage } from "./inventory.tsx";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const reason =
  "BrickOwl shows 11, Orderhub expected 15 and no synced order explains it (a sale there not synced yet, or changed by hand): nothing was sent";
const lot = (id: number, flagged: boolean) => ({
  id,
  itemNo: `300${id}`,
  name: `Brick ${id}`,
  colorName: "Red",
  condition: "new",
  location: `A-${id}`,
  quantity: 15,
  reserved: 0,
  flagReason: flagged ? reason : null,
  flaggedAt: flagged ? "2026-12-04T20:00:00.000Z" : null,
});

/** A stand-in API: two lots, one flagged; records the lot lists the page asks for. */
function stubApi() {
  const asked: string[] = [];
  const fetch = vi.fn(async (url: string) => {
    let body: unknown = {};
    if (url.startsWith("/api/inventory/lots?")) {
      asked.push(url);
      const flaggedOnly = new URL(url, "http://x").searchParams.get("flagged") === "true";
      const lots = flaggedOnly ? [lot(2, true)] : [lot(1, false), lot(2, true)];
      body = { lots, total: lots.length };
    } else if (url === "/api/inventory/lots/2")
      body = { lot: lot(2, true), listings: [], ledger: [], pushes: [] };
    else if (url.startsWith("/api/pushes")) body = { pushes: [] };
    else if (url === "/api/connections") body = { connections: [] };
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetch);
  return asked;
}

describe("Inventory › flagged lots", () => {
  it("marks the lots a reconcile could not explain, filters to them and gives the reason in the lot", async () => {
    setPermissions(["inventory.read"]);
    const asked = stubApi();
    render(<InventoryPage />);
    await waitFor(() => expect(screen.getByText("Brick 1")).toBeTruthy());
    expect(screen.getByText(/1 flagged by the reconcile/)).toBeTruthy();
    const badge = screen.getByText("flagged");
    expect(badge.getAttribute("title")).toBe(reason);
    expect(badge.closest("tr")?.textContent).toContain("3002");

    fireEvent.click(screen.getByLabelText(/Flagged only/));
    await waitFor(() => expect(screen.queryByText("Brick 1")).toBeNull());
    expect(asked.some((u) => /flagged=true/.test(u) && /limit=200/.test(u))).toBe(true);

    fireEvent.click(screen.getByText("Brick 2"));
    const alert = await waitFor(() => {
      const a = document.querySelector('aside [role="alert"]');
      if (!a) throw new Error("no flag in the lot yet");
      return a;
    });
    expect(alert.textContent).toContain(reason);
  });
});
