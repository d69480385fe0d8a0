import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
    // The Lambda bundles are imported as built (minified, dependencies inside): no transform.
    server: { deps: { external: [/packages\/lambda\/dist\//] } },
  },
});
