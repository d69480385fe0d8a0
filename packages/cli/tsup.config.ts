import { defineConfig } from "tsup";
// Splitting keeps the S3 and RDS adapters (and the AWS SDK they load) in chunks imported on demand.
export default defineConfig({ entry: ["src/main.ts"], format: ["esm"], target: "node22", sourcemap: true, clean: true, splitting: true, banner: { js: "#!/usr/bin/env node" } });
