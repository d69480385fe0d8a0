import { defineConfig } from "tsup";
export default defineConfig({ entry: ["src/index.ts", "src/s3.ts", "src/rds.ts"], format: ["esm"], target: "node22", dts: true, sourcemap: true, clean: true, splitting: true });
