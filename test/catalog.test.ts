/**
 * Issue 10, points 5 and 11: one damaged manifest does not hide the other backups (list shows
 * the intact ones and reports the damaged one; prune keeps it, see retention.test.ts), and
 * `verify --backup media/latest` verifies the files backup `list` shows, recording a failure
 * so that list tells "verify failed" from "never verified".
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { backup, tempStore } from "./support/roundtrip.ts";

it("list shows the intact backups and reports the one whose manifest is truncated as damaged", async () => {
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("catalog_damaged");
  await pg15.query(db, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g");
  const dest = tempStore();
  const intact = await backup(pg15.url(db), dest, 1);
  const broken = await backup(pg15.url(db), dest, 1);
  const manifest = join(fileURLToPath(dest), ...broken.split("/"), "manifest.json");
  writeFileSync(manifest, readFileSync(manifest, "utf8").slice(0, 200));

  const r = await runCli(["list", "--from", dest, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json!.backups.map((b: { id: string }) => b.id)).toEqual([intact]);
  expect(r.json!.damaged).toEqual([{ id: broken, problem: expect.stringMatching(/manifest\.json is not a valid cobalt-backup file/) }]);
  expect(r.stderr).toMatch(/"level":"warn","event":"backup.damaged"/);
  const human = await runCli(["list", "--from", dest]);
  expect(human.stdout).toMatch(new RegExp(`^${intact} +database `, "m"));
  expect(human.stdout).toMatch(new RegExp(`^${broken} +DAMAGED `, "m"));
  // The damaged backup is proven bad: verifying it says so.
  const v = await runCli(["verify", "--from", dest, "--backup", broken, "--target", pg15.url()]);
  expect(v.code, v.stderr).toBe(3);
});

it("verify --backup media/latest verifies the files backup, and a corrupt one is recorded as failed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cobalt-media-src-"));
  mkdirSync(join(dir, "uploads"));
  writeFileSync(join(dir, "uploads", "a.txt"), "alpha\n".repeat(1000));
  writeFileSync(join(dir, "b.bin"), Buffer.alloc(5000, 7));
  const dest = tempStore();
  const b = await runCli(["backup-files", "--dir", dir, "--dest", dest, "--name", "media", "--json"]);
  expect(b.code, b.stderr).toBe(0);
  const listed = await runCli(["list", "--from", dest, "--json"]);
  expect(listed.json!.backups.map((x: { id: string; kind: string }) => [x.id, x.kind])).toEqual([[b.json!.id, "files"]]);

  const v = await runCli(["verify", "--from", dest, "--backup", "media/latest", "--json"]);
  expect(v.code, v.stderr).toBe(0);
  expect(v.json!.report).toMatchObject({ id: b.json!.id, kind: "files", ok: true, files: 2 });

  const archive = join(fileURLToPath(dest), ...b.json!.id.split("/"), "files.tar.zst");
  const bytes = readFileSync(archive);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  writeFileSync(archive, bytes);
  const bad = await runCli(["verify", "--from", dest, "--backup", "media/latest"]);
  expect(bad.code, bad.stderr).toBe(3);
  expect(bad.stderr).toMatch(/cobalt-backup: error: verify failed: .*files\.tar\.zst.*corrupt/);
  const after = await runCli(["list", "--from", dest, "--json"]);
  expect(after.json!.backups.map((x: { verification: string }) => x.verification)).toEqual(["failed"]);
});
