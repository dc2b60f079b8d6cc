// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FileImportButton } from "./file-import.tsx";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const job = (over: object) => ({
  id: 7,
  name: "stock.csv",
  state: "queued",
  total: 1000,
  done: 0,
  created: 0,
  added: 0,
  error: null,
  cancelRequested: false,
  ...over,
});

describe("Import file", () => {
  it("uploads the file, shows the lines written as the job runs, and Cancel asks the server to take it back", async () => {
    const calls: { method: string; url: string; body: unknown }[] = [];
    let state = job({ state: "running", done: 250 });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit = {}) => {
        const method = init.method ?? "GET";
        calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : null });
        let answer: unknown;
        if (url.endsWith("/import-file")) answer = { job: job({}) };
        else if (url.endsWith("/cancel")) {
          state = job({ state: "undoing", done: 250, cancelRequested: true });
          answer = { job: state };
        } else answer = { job: state };
        return new Response(JSON.stringify(answer), {
          status: url.endsWith("/import-file") ? 202 : 200,
          headers: { "content-type": "application/json" },
        });
      }),
    );
    const onDone = vi.fn();
    render(<FileImportButton onDone={onDone} />);
    const input = screen.getByLabelText("Inventory file (BrickLink XML or CSV)") as HTMLInputElement;
    const file = new File(["item_no,quantity\r\n3001,4\r\n"], "stock.csv", { type: "text/csv" });
    fireEvent.change(input, { target: { files: [file] } });
    await waitFor(() => expect(screen.getByText(/250 \/ 1,000 lines/)).toBeTruthy(), { timeout: 3000 });
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/inventory/import-file",
      body: { format: "csv", name: "stock.csv", content: "item_no,quantity\r\n3001,4\r\n" },
    });
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("250");
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    await waitFor(() =>
      expect(calls.some((c) => c.method === "POST" && c.url.endsWith("/7/cancel"))).toBe(true),
    );
    state = job({ state: "cancelled", done: 0 });
    await waitFor(() => expect(screen.getByText(/Nothing of this file was kept/)).toBeTruthy(), {
      timeout: 3000,
    });
    expect(onDone).toHaveBeenCalled();
  });

  it("a refused file says which line and that nothing was written", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        async () =>
          new Response(
            JSON.stringify({
              error: {
                code: "invalid_request",
                message: "line 3: quantity must be a whole number",
                details: null,
              },
            }),
            { status: 400, headers: { "content-type": "application/json" } },
          ),
      ),
    );
    render(<FileImportButton onDone={() => {}} />);
    const input = screen.getByLabelText("Inventory file (BrickLink XML or CSV)") as HTMLInputElement;
    fireEvent.change(input, { target: { files: [new File(["x"], "bad.csv")] } });
    await waitFor(() => expect(screen.getByText(/line 3: quantity must be a whole number/)).toBeTruthy());
    expect(screen.getByText(/Nothing was written/)).toBeTruthy();
  });
});
