import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The production bundle: what Tauri serves (tauri.conf.json frontendDist = ui/dist).
export default defineConfig({
  plugins: [svelte()],
  base: "./",
  clearScreen: false,
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
