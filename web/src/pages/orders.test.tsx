// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { OrderRow } from "../api.ts";
import { setMarketplaces } from "../format.ts";
import { startLive } from "../live.ts";
import { OrdersPage } from "./orders.tsx";

// What GET /api/marketplaces tells the app after sign-in.
setMarketplaces([
  { id: "bricklink", displayName: "BrickLink", capabilities: {} },
  { id: "brickowl", displayName: "BrickOwl", capabilities: {} },
]);

function order(i: number, over: Partial<OrderRow> = {}): OrderRow {
  return {
    id: i,
    number: `BL-${1000 + i}`,
    marketplace: i % 2 ? "brickowl" : "bricklink",
    connectionId: 1,
    externalId: String(1000 + i),
    status: "processing",
    rawStatus: "PAID",
    paymentStatus: "paid",
    buyerName: `Buyer ${i}`,
    buyerUsername: `b${i}`,
    orderedAt: new Date(Date.UTC(2026, 10, 1, i)).toISOString(),
    updatedAt: null,
    grandTotal: { amount: 10000 * i, currency: "EUR", display: `${i}.00` },
    lotCount: 1,
    itemCount: 1,
    countryCode: "DE",
    tags: [],
    ...over,
  };
}

const calls: string[] = [];
const views = [
  { id: "all", name: "All", query: "", builtIn: true, count: 250 },
  {
    id: "awaiting-shipment",
    name: "Awaiting shipment",
    query: "status=processing",
    builtIn: true,
    count: 12,
  },
];
beforeEach(() => {
  calls.length = 0;
  history.replaceState(null, "", "/");
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      if (url.startsWith("/api/views")) return new Response(JSON.stringify({ views }), { status: 200 });
      calls.push(url);
      const rows = [1, 2, 3, 4, 5].map((i) => order(i));
      return new Response(JSON.stringify({ orders: rows, total: 250, page: 1, pageSize: 100 }), {
        status: 200,
      });
    }),
  );
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("orders table", () => {
  it("sends the days picked as days: the server takes To as the whole day, in the account's time zone", async () => {
    render(<OrdersPage />);
    await screen.findByText("BL-1001");
    await act(async () => {
      fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-12-01" } });
    });
    await act(async () => {
      fireEvent.change(screen.getByLabelText("To"), { target: { value: "2026-12-02" } });
    });
    await waitFor(() => expect(calls.at(-1)).toContain("from=2026-12-01&to=2026-12-02"));
  });

  it("shows the views with their counts and clears the filters in one click", async () => {
    history.replaceState(null, "", "/?status=shipped&q=lukasz");
    render(<OrdersPage />);
    await screen.findByText("BL-1001");
    expect((await screen.findByText("Awaiting shipment")).closest("a")!.textContent).toContain("12");
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Clear filters" }));
    });
    expect(location.search).toBe("");
    await waitFor(() => expect(calls.at(-1)).not.toContain("status="));
    expect(screen.getByText("All").closest("a")!.getAttribute("aria-current")).toBe("true");
  });

  it("shows the rows with unified status and raw status, marketplace and total", async () => {
    render(<OrdersPage />);
    await screen.findByText("BL-1003");
    expect(document.querySelectorAll(".badge-processing").length).toBe(5);
    expect(screen.getAllByText("PAID").length).toBe(5);
    expect(screen.getAllByText("BrickOwl").length).toBeGreaterThan(0);
    expect(screen.getByText("1–100 of 250 orders")).toBeTruthy();
  });

  it("sorting and filtering go to the server and into the URL", async () => {
    render(<OrdersPage />);
    await screen.findByText("BL-1001");
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: /Total/ }));
    });
    expect(location.search).toBe("?sort=total&dir=desc");
    await waitFor(() => expect(calls.at(-1)).toContain("sort=total&dir=desc"));
    await act(async () => {
      fireEvent.change(screen.getByLabelText("Status"), { target: { value: "shipped" } });
    });
    await waitFor(() => expect(calls.at(-1)).toContain("status=shipped"));
    expect(new URLSearchParams(location.search).get("status")).toBe("shipped");
  });

  it("selects one, a range with shift, and offers all orders matching the filter", async () => {
    render(<OrdersPage />);
    await screen.findByText("BL-1001");
    fireEvent.click(screen.getByLabelText("Select BL-1001"));
    fireEvent.click(screen.getByLabelText("Select BL-1004"), { shiftKey: true });
    expect(screen.getByText("4 selected")).toBeTruthy();
    fireEvent.click(screen.getByLabelText("Select all orders on this page"));
    fireEvent.click(screen.getByRole("button", { name: "Select all 250 matching the filter" }));
    expect(screen.getByText("250 selected")).toBeTruthy();
  });

  it("shows the answer to the filter on screen when an older answer arrives last", async () => {
    // The unfiltered list answers slowly; the filtered one at once. The slow answer must not win.
    let releaseSlow: () => void = () => {};
    const slow = new Promise<void>((r) => {
      releaseSlow = r;
    });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        calls.push(url);
        const shipped = url.includes("status=shipped");
        if (!shipped) await slow;
        const rows = shipped
          ? [order(7, { number: "BO-7", status: "shipped", rawStatus: "Shipped" })]
          : [1, 2, 3].map((i) => order(i));
        return new Response(JSON.stringify({ orders: rows, total: rows.length, page: 1, pageSize: 100 }), {
          status: 200,
        });
      }),
    );
    render(<OrdersPage />);
    await act(async () => {
      fireEvent.change(screen.getByLabelText("Status"), { target: { value: "shipped" } });
    });
    await screen.findByText("BO-7");
    await act(async () => {
      releaseSlow();
      await slow;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByText("BL-1001")).toBeNull();
    expect(screen.getByText("BO-7")).toBeTruthy();
    expect(document.querySelector(".table-wrap")?.getAttribute("aria-busy")).toBe("false");
  });

  it("keeps the table live when refreshes overlap: an answer older than the last request is still shown", async () => {
    // Every answer waits until the test lets it go; live events come through a stand-in EventSource.
    const waiting: { url: string; release(): void }[] = [];
    let version = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url.startsWith("/api/views")) return new Response(JSON.stringify({ views }), { status: 200 });
        calls.push(url);
        const v = ++version;
        await new Promise<void>((release) => waiting.push({ url, release }));
        const rows = [order(v, { number: `BL-V${v}` })];
        return new Response(JSON.stringify({ orders: rows, total: 1, page: 1, pageSize: 100 }), {
          status: 200,
        });
      }),
    );
    const sources: { handlers: Record<string, (m: { data: string }) => void> }[] = [];
    vi.stubGlobal(
      "EventSource",
      class {
        handlers: Record<string, (m: { data: string }) => void> = {};
        constructor() {
          sources.push(this);
        }
        addEventListener(type: string, h: (m: { data: string }) => void) {
          this.handlers[type] = h;
        }
        close() {}
      },
    );
    const stop = startLive();
    try {
      render(<OrdersPage />);
      await waitFor(() => expect(waiting).toHaveLength(1));
      await act(async () => waiting[0]!.release());
      await screen.findByText("BL-V1");
      const event = () =>
        act(async () => {
          sources[0]!.handlers["order.updated"]!({
            data: JSON.stringify({ type: "order.updated", orderId: 1 }),
          });
        });
      // Two refreshes in flight at once (events 300 ms apart, answers slower than that).
      await event();
      await waitFor(() => expect(waiting).toHaveLength(2), { timeout: 2000 });
      await event();
      await waitFor(() => expect(waiting).toHaveLength(3), { timeout: 2000 });
      await act(async () => waiting[1]!.release());
      await screen.findByText("BL-V2");
      await act(async () => waiting[2]!.release());
      await screen.findByText("BL-V3");
    } finally {
      stop();
    }
  });
});
