// Builds every handler in src/handlers into its own ESM bundle, dist/handlers/<name>/index.mjs
// (esbuild: dependencies, the AWS SDK included, so the deployed code is exactly what was tested),
// and compiles the CDK construct into dist/construct. Prints each bundle's size.
import { execFileSync } from "node:child_process";
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const handlers = readdirSync(join(root, "src/handlers")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3));
rmSync(join(root, "dist"), { recursive: true, force: true });

const sizes = {};
for (const name of handlers) {
  const outfile = join(root, "dist/handlers", name, "index.mjs");
  await build({
    entryPoints: [join(root, "src/handlers", `${name}.ts`)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minify: true,
    keepNames: true,
    legalComments: "none",
    // pg loads its optional native binding only when asked; CommonJS dependencies need `require` in an ES module.
    external: ["pg-native"],
    banner: { js: "import { createRequire as __cobaltRequire } from 'node:module'; const require = __cobaltRequire(import.meta.url);" },
    logLevel: "warning",
  });
  sizes[name] = statSync(outfile).size;
}
writeFileSync(join(root, "dist/handlers/sizes.json"), `${JSON.stringify(sizes, null, 2)}\n`);
execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.construct.json")], { stdio: "inherit" });
for (const [name, bytes] of Object.entries(sizes)) console.log(`lambda: ${name.padEnd(20)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB`);
