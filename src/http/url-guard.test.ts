import { describe, expect, it } from "vitest";
import { checkMarketplaceUrl } from "./url-guard.ts";

const resolveTo = (addresses: string[]) => async () => addresses;

describe("checkMarketplaceUrl", () => {
  it("refuses a public name that resolves to an inside address", async () => {
    for (const inside of ["10.0.0.7", "127.0.0.1", "::1", "fd00::5", "100.64.1.1", "::ffff:192.168.1.1"]) {
      await expect(
        checkMarketplaceUrl("baseUrl", "https://evil.example/v1", {
          allowPrivate: false,
          resolve: resolveTo([inside]),
        }),
      ).rejects.toThrow(/private or loopback/);
    }
  });

  it("accepts a public name with public addresses, and a name that does not resolve", async () => {
    await checkMarketplaceUrl("baseUrl", "https://api.example/v1", {
      allowPrivate: false,
      resolve: resolveTo(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]),
    });
    await checkMarketplaceUrl("baseUrl", "https://nowhere.invalid/v1", {
      allowPrivate: false,
      resolve: async () => {
        throw new Error("ENOTFOUND");
      },
    });
  });

  it("allows private targets when the policy does, but never plain http off this machine", async () => {
    await checkMarketplaceUrl("config.tokenUrl", "http://127.0.0.1:4000/token", { allowPrivate: true });
    await checkMarketplaceUrl("config.tokenUrl", "https://10.0.0.2/token", { allowPrivate: true });
    await expect(
      checkMarketplaceUrl("config.tokenUrl", "http://10.0.0.2/token", { allowPrivate: true }),
    ).rejects.toThrow(/config\.tokenUrl: must be an https/);
    await expect(checkMarketplaceUrl("baseUrl", "ftp://x.example/", { allowPrivate: true })).rejects.toThrow(
      /https/,
    );
  });
});
