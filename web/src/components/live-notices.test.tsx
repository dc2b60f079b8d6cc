// @vitest-environment jsdom
import { act, cleanup, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setMarketplaces } from "../format.ts";
import { startLive } from "../live.ts";
import { LiveNotices, NEW_ORDERS_WINDOW_MS } from "./live-notices.tsx";
import { Toasts } from "./ui.tsx";

setMarketplaces([
  { id: "bricklink", displayName: "BrickLink", capabilities: {} },
  { id: "brickowl", displayName: "BrickOwl", capabilities: {} },
]);

const sources: { handlers: Record<string, (m: { data: string }) => void> }[] = [];
let stop: () => void = () => {};

beforeEach(() => {
  vi.useFakeTimers();
  sources.length = 0;
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
  stop = startLive();
});
afterEach(() => {
  stop();
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const emit = (e: Record<string, unknown>) =>
  act(() => {
    sources[0]!.handlers[String(e.type)]!({ data: JSON.stringify(e) });
  });
const toasts = () => [...document.querySelectorAll(".toast")].map((t) => t.textContent);

function sync(state: string, created: number, updated: number) {
  return emit({
    type: "sync.progress",
    runId: 1,
    connectionId: 1,
    state,
    seen: 9,
    total: 9,
    created,
    updated,
  });
}

describe("live notices", () => {
  it("background syncs that ran fine pop no toast; new orders come as one toast per few seconds", async () => {
    render(
      <>
        <Toasts />
        <LiveNotices />
      </>,
    );
    await sync("running", 0, 0);
    await sync("completed", 0, 3);
    await sync("completed", 2, 1);
    for (let i = 0; i < 4; i++)
      await emit({ type: "order.created", orderId: i, number: `BL-${i}`, marketplace: "bricklink" });
    await emit({ type: "order.created", orderId: 9, number: "BO-9", marketplace: "brickowl" });
    expect(toasts()).toEqual([]);
    await act(() => vi.advanceTimersByTime(NEW_ORDERS_WINDOW_MS));
    expect(toasts()).toEqual(["5 new orders (4 BrickLink, 1 BrickOwl)"]);

    await emit({ type: "order.created", orderId: 10, number: "BL-10", marketplace: "bricklink" });
    await act(() => vi.advanceTimersByTime(NEW_ORDERS_WINDOW_MS));
    expect(toasts()).toEqual(["5 new orders (4 BrickLink, 1 BrickOwl)", "New order BL-10"]);
  });

  it("what needs the seller still says so: a failed sync, a failed push", async () => {
    render(
      <>
        <Toasts />
        <LiveNotices />
      </>,
    );
    await emit({
      type: "sync.progress",
      runId: 2,
      connectionId: 1,
      state: "completed_with_errors",
      failed: 2,
    });
    await emit({ type: "push.updated", pushId: 3, state: "failed" });
    expect(toasts()).toEqual([
      "Sync finished with 2 failed orders — see Integrations",
      "An update to a marketplace failed and needs you — see the order or Inventory",
    ]);
    expect(screen.getAllByRole("alert")).toHaveLength(2);
  });
});
