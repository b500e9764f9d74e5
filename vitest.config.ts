import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests start real servers and write real files; a hung one must fail, not stall CI.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
