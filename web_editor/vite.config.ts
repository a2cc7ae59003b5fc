import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build lands inside the Python package, so wheels and sdists carry it and a Pi never needs Node.
// `npm run dev` proxies the API to an engine started with `flowengine run --port 1880`.
const engine = process.env.FLOWENGINE_URL ?? "http://127.0.0.1:1880";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../flowengine/editor_dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      "/api": { target: engine, ws: true },
      "/flows": engine,
    },
  },
});
