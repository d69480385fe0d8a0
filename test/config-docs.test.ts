import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { renderConfigDocs } from "../scripts/config-docs.ts";
import { repoRoot } from "./support/corpus.ts";

it("docs/configuration.md is generated from the current schema (run pnpm docs:config)", () => {
  expect(readFileSync(join(repoRoot, "docs/configuration.md"), "utf8")).toBe(renderConfigDocs());
});
