import { defineConfig } from "vite";

// The gateway serves dist/ and answers /api; in development Vite forwards /api to it.
export default defineConfig({
  build: { outDir: "dist", sourcemap: false, target: "es2022" },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
});
