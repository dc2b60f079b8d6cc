// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setPermissions } from "../access.ts";
import type { OrderDetail, OrderEvent } from "../api.ts";
import { setMarketplaces } from "../format.ts";
import { OrderTimeline, ReviewNotice } from "./order-timeline.tsx";

setMarketplaces([{ id: "bricklink", displayName: "BrickLink", capabilities: {} }]);

const event = (id: number, over: Partial<OrderEvent>): OrderEvent => ({
  id,
  kind: "status_changed",
  fromStatus: null,
  toStatus: null,
  rawStatus: null,
  source: "marketplace:bricklink",
  at: "2026-11-22T10:00:00.000Z",
  marketplaceAt: null,
  detail: {},
  ...over,
});

/** A shipped BrickLink order that BrickLink later reported as PAID again (as the server answers it). */
const order = (over: Partial<OrderDetail> = {}) =>
  ({
    id: 7,
    number: "BL-20000004",
    marketplace: "bricklink",
    status: "shipped",
    rawStatus: "SHIPPED",
    needsReview: true,
    review: {
      reason: "backward_status",
      claimedStatus: "processing",
      claimedRawStatus: "PAID",
      marketplaceAt: "2026-11-22T11:00:00.000Z",
      keptStatus: "shipped",
      keptRawStatus: "SHIPPED",
      at: "2026-11-22T11:05:00.000Z",
    },
    events: [
      event(1, {
        kind: "created",
        toStatus: "processing",
        at: "2026-11-22T09:00:00.000Z",
        marketplaceAt: "2026-01-03T08:00:00.000Z",
      }),
      event(2, { kind: "ship_requested", source: "user:1", at: "2026-11-22T10:00:00.000Z", detail: {} }),
      event(3, {
        kind: "status_refused",
        fromStatus: "shipped",
        toStatus: "processing",
        rawStatus: "PAID",
        at: "2026-11-22T11:05:00.000Z",
        marketplaceAt: "2026-11-22T11:00:00.000Z",
        detail: { keptRawStatus: "SHIPPED" },
      }),
    ],
    ...over,
  }) as OrderDetail;

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setPermissions([]);
});

describe("order timeline and review flag", () => {
  it("lists events as Orderhub learnt them, the marketplace's time beside its own events", () => {
    render(<OrderTimeline order={order()} />);
    const items = [...document.querySelectorAll(".timeline li")];
    expect(items.map((li) => li.className)).toEqual([
      "event-created",
      "event-ship_requested",
      "event-status_refused",
    ]);
    expect(items[2]!.textContent).toContain(
      "Reported Processing (PAID) — older than Shipped (SHIPPED): kept ours, flagged for review",
    );
    const theirs = items[0]!.querySelector("time.marketplace-time")!;
    expect(theirs.getAttribute("dateTime")).toBe("2026-01-03T08:00:00.000Z");
    expect(theirs.textContent).toMatch(/^BrickLink’s time /);
    expect(items[1]!.querySelector("time.marketplace-time")).toBeNull();
  });

  it("says what the marketplace claimed and what was kept; Clear review asks the API and reloads", async () => {
    setPermissions(["orders.read", "orders.status"]);
    const sent: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init?: RequestInit) => {
        sent.push(`${init?.method ?? "GET"} ${url}`);
        return new Response(JSON.stringify({ orderId: 7, cleared: true, needsReview: false }), {
          status: 200,
          headers: { "content-type": "application/json" },
        });
      }),
    );
    const onCleared = vi.fn();
    render(<ReviewNotice order={order()} onCleared={onCleared} />);
    const notice = screen.getByRole("status", { name: "Needs review" });
    expect(notice.textContent).toMatch(/BrickLink reported PAID \(Processing\)/);
    expect(notice.textContent).toMatch(/Orderhub kept SHIPPED/);
    await act(async () => fireEvent.click(screen.getByRole("button", { name: "Clear review" })));
    expect(sent).toEqual(["POST /api/orders/7/review/clear"]);
    expect(onCleared).toHaveBeenCalledTimes(1);
  });

  it("shows nothing for an order without the flag, and no button for those who may not clear it", () => {
    const { container } = render(<ReviewNotice order={order({ needsReview: false })} onCleared={() => {}} />);
    expect(container.textContent).toBe("");
    cleanup();
    setPermissions(["orders.read"]);
    render(<ReviewNotice order={order()} onCleared={() => {}} />);
    expect(screen.getByRole("status", { name: "Needs review" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Clear review" })).toBeNull();
  });
});
