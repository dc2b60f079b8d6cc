/**
 * Adds the fake marketplace to the registry. Tests preload it into the servers and CLI processes they
 * start (`ORDERHUB_PRELOAD`, see bin/orderhub.js); production code never imports it.
 */
import { registerAdapter } from "../registry.ts";
import type { MarketplaceAdapter } from "../types.ts";
import { fakeAdapter } from "./fake.ts";

registerAdapter(fakeAdapter as MarketplaceAdapter<unknown>);
