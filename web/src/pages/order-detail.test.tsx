// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { OrderDetail } from "../api.ts";
import { setMarketplaces } from "../format.ts";
import { OrderDrawer } from "./order-detail.tsx";

setMarketplaces([
  { id: "bricklink", displayName: "BrickLink", capabilities: {} },
  { id: "brickowl", displayName: "BrickOwl", capabilities: {} },
]);

const m = (amount: number, display: string) => ({ amount, currency: "GBP", display });

/** The API's answer for a BrickOwl order as the server builds it (see src/http/views.ts). */
function detail(over: Partial<OrderDetail> = {}): OrderDetail {
  return {
    id: 2,
    number: "BO-3500002",
    marketplace: "brickowl",
    connectionId: 2,
    externalId: "3500002",
    status: "processing",
    rawStatus: "Payment Received",
    paymentStatus: "paid",
    buyerName: "Ana García",
    buyerUsername: "ana",
    orderedAt: "2026-01-01T02:00:00.000Z",
    updatedAt: null,
    grandTotal: m(8_4300, "8.43"),
    lotCount: 2,
    itemCount: 3,
    countryCode: "ES",
    tags: [],
    buyerEmail: null,
    shippingAddress: {
      name: "Ana García",
      company: null,
      line1: null,
      line2: null,
      line3: null,
      city: null,
      region: null,
      postalCode: null,
      countryCode: "ES",
      phone: null,
      full: "Ana García\nCalle Mayor 5\n28013 Madrid",
    },
    shipTo: {
      lines: ["Ana García", "Calle Mayor 5", "28013 Madrid", "SPAIN"],
      text: "Ana García\nCalle Mayor 5\n28013 Madrid\nSPAIN",
      countryCode: "ES",
      countryName: "Spain",
    },
    totals: {
      subtotal: m(3_4200, "3.42"),
      shipping: m(5_0000, "5.00"),
      tax: m(0, "0.00"),
      fees: m(0, "0.00"),
      credits: m(0, "0.00"),
      grandTotal: m(8_4300, "8.43"),
    },
    charges: {
      subtotal: m(3_4200, "3.42"),
      rows: [
        { kind: "shipping", label: "Shipping", ...m(5_0000, "5.00") },
        { kind: "difference", label: "Rounding by the marketplace", ...m(100, "0.01") },
      ],
      grandTotal: m(8_4300, "8.43"),
      included: [{ kind: "tax", label: "VAT 21 % included", ...m(1_4600, "1.46") }],
      decimals: 2,
    },
    shippingMethod: "Royal Mail, Large Letter",
    trackingNumbers: [],
    buyerRemarks: null,
    internalNote: null,
    url: null,
    lines: [
      {
        id: 11,
        itemNo: "3001",
        name: "Brick 2 x 4",
        colorName: "Red",
        condition: "new",
        completeness: null,
        quantity: 2,
        unitPrice: m(1_2000, "1.20"),
        lineTotal: m(2_4000, "2.40"),
        location: "A-1",
        removedAt: null,
        marketplaceLotId: "2726001",
        lot: {
          id: 17,
          itemNo: "3001",
          colorName: "Red",
          condition: "new",
          location: "A-1",
          listings: [
            { marketplace: "bricklink", connectionId: 1, connectionName: "BL", externalId: "1000017" },
            { marketplace: "brickowl", connectionId: 2, connectionName: "BO", externalId: "2726001" },
          ],
        },
      },
      {
        id: 12,
        itemNo: "3023",
        name: "Plate 1 x 2",
        colorName: "Black",
        condition: "used",
        completeness: null,
        quantity: 1,
        unitPrice: m(1_0200, "1.02"),
        lineTotal: m(1_0200, "1.02"),
        location: null,
        removedAt: null,
        marketplaceLotId: "2726999",
        lot: null,
      },
    ],
    events: [],
    pushes: [],
    shipments: [],
    ...over,
  };
}

let answer: OrderDetail;
beforeEach(() => {
  answer = detail();
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => new Response(JSON.stringify({ order: answer }), { status: 200 })),
  );
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("order panel", () => {
  it("ship-to names the country of a free-text address abroad, and Copy address copies it", async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    render(<OrderDrawer id="2" onClose={() => {}} />);
    const address = await screen.findByText(/28013 Madrid/);
    expect(address.textContent).toBe("Ana García\nCalle Mayor 5\n28013 Madrid\nSPAIN");
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: "Copy address" }));
    });
    expect(writeText).toHaveBeenCalledWith("Ana García\nCalle Mayor 5\n28013 Madrid\nSPAIN");
  });

  it("totals list every charge and the rounding as its own line, so they add up to the total", async () => {
    render(<OrderDrawer id="2" onClose={() => {}} />);
    const totals = await screen.findByRole("region", { name: "Totals" });
    const rows = [...totals.querySelectorAll(":scope > div")].map((d) =>
      [...d.querySelectorAll("span")].map((s) => s.textContent),
    );
    expect(rows).toEqual([
      ["Subtotal", "3.42 GBP"],
      ["Shipping", "5.00 GBP"],
      ["Rounding by the marketplace", "0.01 GBP"],
      ["Total", "8.43 GBP"],
      ["VAT 21 % included", "1.46 GBP"],
    ]);
  });

  it("each line shows the lot it was matched to: Orderhub's, and that lot on each marketplace", async () => {
    render(<OrderDrawer id="2" onClose={() => {}} />);
    const matched = (await screen.findByText("Brick 2 x 4")).closest("tr")!;
    expect(matched.textContent).toContain("Lot #17 · BrickLink 1000017 · BrickOwl 2726001");
    const unmatched = screen.getByText("Plate 1 x 2").closest("tr")!;
    expect(within(unmatched).getByText(/not matched/).textContent).toBe(
      "Lot: not matched · BrickOwl 2726999",
    );
  });
});
