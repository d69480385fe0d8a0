/** Issue 6, acceptance 1: the README's first quick-start command works on its embedded defaults. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli } from "./support/cli.ts";

it("cobalt-backup demo backs up pagila, verifies it, and prints the report", async () => {
  const dest = join(mkdtempSync(join(tmpdir(), "cobalt-demo-")), "demo-backups");
  const r = await runCli(["demo", "--dest", dest]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^demo OK: \S+\/pagila -> file:\/\//);
  expect(r.stdout).toMatch(/verify +ok .*21 tables identical/);
  const list = await runCli(["list", "--from", dest, "--json"]);
  expect(list.json!.backups).toEqual([expect.objectContaining({ verified: true, tables: 21, rows: 49636 })]);
});
