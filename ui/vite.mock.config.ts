import { defineConfig } from "vite";

// Test-only bundle: the mocked Rust side, as one classic script for page.addInitScript.
export default defineConfig({
  build: {
    outDir: "dist-mock",
    emptyOutDir: true,
    lib: { entry: "tests/browser/mock-backend.ts", name: "ferryMock", formats: ["iife"], fileName: () => "mock.js" },
  },
});
