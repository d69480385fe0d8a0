import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` (pure logic, no server started: seconds) and `integration` (real
 * PostgreSQL clusters started once by the global setup, s3rver, the RDS emulator, the built CLI).
 * `pnpm test` runs both, `pnpm test:unit` the first.
 */
export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
    // The Lambda bundles are imported as built (minified, dependencies inside): no transform.
    server: { deps: { external: [/packages\/lambda\/dist\//] } },
    projects: [
      {
        extends: true,
        // Unit tests read core's source, so they need no build.
        resolve: { alias: [{ find: /^@cobalt-backup\/core$/, replacement: new URL("./packages/core/src/index.ts", import.meta.url).pathname }] },
        test: { name: "unit", include: ["test/unit/**/*.test.ts"] },
      },
      { extends: true, test: { name: "integration", include: ["test/**/*.test.ts"], exclude: ["test/unit/**"], globalSetup: ["test/support/global-setup.ts"] } },
    ],
  },
});
