// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setPermissions } from "../access.ts";
import { UsersPage } from "./users.tsx";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const people = [
  { id: 1, email: "owner@shop.test", name: "Olga", role: "owner", disabled: false, lastLoginAt: null },
  { id: 2, email: "picker@shop.test", name: null, role: "picker", disabled: false, lastLoginAt: null },
];

/** A stand-in API that records what the page sends and answers the users list. */
function stubApi() {
  const sent: { method: string; url: string; body: unknown }[] = [];
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    if (method !== "GET") sent.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : null });
    const body = method === "GET" ? { users: people } : { ok: true };
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetch);
  return sent;
}

describe("Settings › Users", () => {
  it("lists the users and cuts one off: disable, sign out everywhere, change role", async () => {
    setPermissions(["users.read", "users.manage"]);
    const sent = stubApi();
    render(<UsersPage meId={1} />);
    const row = await waitFor(() => {
      const r = document.querySelector('tr[data-user="picker@shop.test"]');
      if (!r) throw new Error("no row yet");
      return r as HTMLElement;
    });
    expect(screen.getByText("(you)")).toBeTruthy();
    fireEvent.click(within(row).getByRole("button", { name: "Disable" }));
    await waitFor(() =>
      expect(sent).toContainEqual({ method: "PATCH", url: "/api/users/2", body: { disabled: true } }),
    );
    fireEvent.click(within(row).getByRole("button", { name: "Sign out everywhere" }));
    await waitFor(() =>
      expect(sent.some((s) => s.method === "POST" && s.url === "/api/users/2/logout")).toBe(true),
    );
    fireEvent.change(within(row).getByLabelText("Role of picker@shop.test"), { target: { value: "staff" } });
    await waitFor(() =>
      expect(sent).toContainEqual({ method: "PATCH", url: "/api/users/2", body: { role: "staff" } }),
    );
  });

  it("staff see the users read-only: no add, no actions, the role cannot be changed", async () => {
    setPermissions(["users.read"]);
    const sent = stubApi();
    render(<UsersPage meId={3} />);
    const row = await waitFor(() => {
      const r = document.querySelector('tr[data-user="picker@shop.test"]');
      if (!r) throw new Error("no row yet");
      return r as HTMLElement;
    });
    expect(screen.queryByRole("button", { name: "Add user" })).toBeNull();
    expect(within(row).queryByRole("button", { name: "Disable" })).toBeNull();
    expect((within(row).getByLabelText("Role of picker@shop.test") as HTMLSelectElement).disabled).toBe(true);
    expect(sent).toEqual([]);
  });
});
