// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setMarketplaces } from "../format.ts";
import { ShipDialog } from "./ship-dialog.tsx";

// What GET /api/marketplaces says: one marketplace ships by line, one whole orders only.
setMarketplaces([
  { id: "byline", displayName: "Line Market", capabilities: { shipmentPush: "line" } },
  { id: "whole", displayName: "Whole Market", capabilities: { shipmentPush: "order" } },
]);

const order = (marketplace: string) => ({
  id: 7,
  number: "X-7",
  marketplace,
  status: "processing",
  lines: [
    { id: 70, name: "Brick 2 x 4", itemNo: "3001", colorName: "Red", quantity: 3, removedAt: null },
    { id: 71, name: "Plate 1 x 2", itemNo: "3023", colorName: null, quantity: 5, removedAt: null },
  ],
  // One unit of the brick went in an earlier parcel.
  shipments: [{ lines: [{ lineId: 70, quantity: 1 }] }],
});

let posted: { dryRun?: boolean; lines?: unknown; orders: unknown }[] = [];
function stub(marketplace: string) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      if (url.startsWith("/api/orders/")) return new Response(JSON.stringify({ order: order(marketplace) }));
      const body = JSON.parse(String(init?.body ?? "{}"));
      posted.push(body);
      return new Response(
        JSON.stringify({ pushes: [{ orderId: 7, number: "X-7", marketplace, calls: ["planned"] }] }),
      );
    }),
  );
}

beforeEach(() => {
  posted = [];
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("ship dialog", () => {
  it("offers the lines with what is left of each where the marketplace ships by line, and sends the parcel's quantities", async () => {
    stub("byline");
    render(<ShipDialog orderIds={[7]} onClose={() => {}} onDone={() => {}} />);
    const brick = await screen.findByLabelText("Quantity of Brick 2 x 4 in this parcel");
    const plate = screen.getByLabelText("Quantity of Plate 1 x 2 in this parcel");
    expect((brick as HTMLInputElement).value).toBe("2");
    expect((plate as HTMLInputElement).value).toBe("5");
    fireEvent.change(brick, { target: { value: "9" } });
    expect((brick as HTMLInputElement).value).toBe("2");
    fireEvent.change(plate, { target: { value: "0" } });
    fireEvent.click(screen.getByRole("button", { name: "Review…" }));
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatchObject({ orders: [7], dryRun: true, lines: [{ lineId: 70, quantity: 2 }] });
    expect(screen.queryByText(/ships whole orders/)).toBeNull();
  });

  it("says the marketplace ships whole orders, and sends no lines", async () => {
    stub("whole");
    render(<ShipDialog orderIds={[7]} onClose={() => {}} onDone={() => {}} />);
    await screen.findByText("Whole Market ships whole orders: the whole order is marked shipped");
    expect(screen.queryByLabelText(/in this parcel/)).toBeNull();
    fireEvent.change(screen.getByLabelText("Tracking number"), { target: { value: "T1" } });
    fireEvent.click(screen.getByRole("button", { name: "Review…" }));
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatchObject({ trackingNumber: "T1", dryRun: true });
    expect(posted[0]!.lines).toBeUndefined();
  });

  it("ships whole orders when several are selected", async () => {
    stub("byline");
    render(<ShipDialog orderIds={[7, 8]} onClose={() => {}} onDone={() => {}} />);
    expect(screen.getByText(/Ships whole orders\. To ship part of an order, open it/)).toBeTruthy();
    expect(screen.queryByLabelText(/in this parcel/)).toBeNull();
  });
});
