// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Manifest } from "../api.ts";
import { ConnectDialog } from "./integrations.tsx";

const manifest: Manifest = {
  id: "oauthtest",
  displayName: "Tiny OAuth",
  defaultBaseUrl: "https://tiny.example",
  config: [
    { key: "clientId", label: "Client id", secret: false, required: true },
    { key: "clientSecret", label: "Client secret", secret: true, required: true },
    { key: "refreshToken", label: "Refresh token", secret: true, required: true },
  ],
  consent: {
    redirectUri: "https://orders.shop.example/oauth/callback/oauthtest",
    scopes: ["orders_r"],
    refreshTokenKey: "refreshToken",
  },
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("Connect with …", () => {
  it("shows the redirect URI and sends the browser to the marketplace's sign-in, without a refresh token", async () => {
    const fetch = vi.fn(
      async () =>
        new Response(JSON.stringify({ authorizationUrl: "https://tiny.example/authorize?state=s" }), {
          status: 200,
          headers: { "content-type": "application/json" },
        }),
    );
    vi.stubGlobal("fetch", fetch);
    const navigate = vi.fn();
    render(<ConnectDialog manifest={manifest} onClose={() => {}} onDone={() => {}} navigate={navigate} />);
    expect(screen.getByText(manifest.consent!.redirectUri)).toBeTruthy();
    const refresh = screen.getByLabelText(/Refresh token/) as HTMLInputElement;
    expect(refresh.required).toBe(false);
    fireEvent.change(screen.getByLabelText(/Client id/), { target: { value: "my-app" } });
    fireEvent.change(screen.getByLabelText(/Client secret/), { target: { value: "s3cret-value" } });
    fireEvent.click(screen.getByRole("button", { name: "Connect with Tiny OAuth" }));
    await waitFor(() => expect(navigate).toHaveBeenCalledWith("https://tiny.example/authorize?state=s"));
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/connections/oauth/start");
    expect(JSON.parse(String(init.body))).toEqual({
      marketplace: "oauthtest",
      name: "My Tiny OAuth store",
      config: { clientId: "my-app", clientSecret: "s3cret-value" },
    });
  });

  it("offers no sign-in for marketplaces without one, and keeps the paste form", () => {
    render(
      <ConnectDialog manifest={{ ...manifest, consent: undefined }} onClose={() => {}} onDone={() => {}} />,
    );
    expect(screen.queryByRole("button", { name: /Connect with/ })).toBeNull();
    expect((screen.getByLabelText(/Refresh token/) as HTMLInputElement).required).toBe(true);
    expect(screen.getByRole("button", { name: "Connect and import" })).toBeTruthy();
  });
});
