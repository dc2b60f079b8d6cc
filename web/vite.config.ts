import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** The web UI: built into dist/web, which the Orderhub server serves at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev:web`: the UI with hot reload, the API from a server on :3000.
    proxy: { "/api": "http://127.0.0.1:3000", "/webhooks": "http://127.0.0.1:3000" },
  },
});
