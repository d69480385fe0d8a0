import { cpSync } from "node:fs";
import { defineConfig } from "tsup";
// Splitting keeps the S3 and RDS adapters (and the AWS SDK they load) in chunks imported on demand.
// The workspace's core is bundled in, so the packed CLI installs from one tarball; its npm
// dependencies stay dependencies (listed in package.json). The demo's pagila sample ships in dist/.
export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  target: "node22",
  sourcemap: true,
  clean: true,
  splitting: true,
  noExternal: ["@cobalt-backup/core"],
  banner: { js: "#!/usr/bin/env node" },
  onSuccess: async () => cpSync("../../examples/pagila", "dist/pagila", { recursive: true }),
});
