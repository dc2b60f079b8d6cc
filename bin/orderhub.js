#!/usr/bin/env node
// Orderhub runs its TypeScript sources directly (no build step): register the loader, then start.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
