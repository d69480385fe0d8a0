/** The examples are code users copy: the library example runs, the sample config is valid. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { configSchema } from "../packages/cli/src/config/config-schema.ts";
import { cluster } from "./support/cluster.ts";
import { repoRoot } from "./support/corpus.ts";

it("examples/library-use.ts backs up and verifies through the library", async () => {
  const pg15 = cluster(15);
  const source = await pg15.newDatabase("lib", "chinook_tpl");
  const scratch = await pg15.newDatabase("lib_scratch");
  const out = execFileSync(process.execPath, ["--import", "tsx", join(repoRoot, "examples/library-use.ts")], {
    cwd: join(repoRoot, "examples"),
    env: { ...process.env, SOURCE_URL: pg15.url(source), SCRATCH_URL: pg15.url(scratch), BACKUP_DIR: mkdtempSync(join(tmpdir(), "cobalt-lib-")) },
    encoding: "utf8",
  });
  expect(JSON.parse(out.trim().split("\n").pop()!)).toMatchObject({ ok: true, tables: 11 });
});

it("examples/cobalt-backup.config.json is a valid configuration", () => {
  const parsed = configSchema.safeParse(JSON.parse(readFileSync(join(repoRoot, "examples/cobalt-backup.config.json"), "utf8")));
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
});
