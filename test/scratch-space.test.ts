/**
 * Issue 10, point 9: verify's embedded scratch PostgreSQL lives where the operator says
 * (`--scratch-dir`, `verify.scratchDir`), and before it starts, the free space there is compared
 * with what the manifest says the restore needs: too little is an error naming the directory and
 * how to choose another (exit 2), never "verification failed".
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { runCli, startCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { backup, tempStore } from "./support/roundtrip.ts";

const root = mkdtempSync(join(tmpdir(), "cobalt-scratch-"));
// As root the embedded server runs as the postgres user, who must reach the scratch directory.
chmodSync(root, 0o755);

async function smallBackup(): Promise<{ dest: string; id: string; manifestPath: string }> {
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("scratch");
  await pg15.query(db, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g");
  const dest = tempStore();
  const id = await backup(pg15.url(db), dest, 1);
  return { dest, id, manifestPath: join(fileURLToPath(dest), ...id.split("/"), "manifest.json") };
}

it("verify --scratch-dir runs the scratch server there, and refuses a directory without room before starting anything", async () => {
  const { dest, id, manifestPath } = await smallBackup();
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  expect(manifest.source.databaseBytes).toBeGreaterThan(0);

  const scratch = join(root, "scratch");
  mkdirSync(scratch);
  const run = startCli(["verify", "--from", dest, "--backup", id, "--scratch-dir", scratch]);
  let seen = false;
  let exited = false;
  void run.done.then(() => (exited = true));
  while (!exited && !seen) {
    seen = readdirSync(scratch).some((e) => e.startsWith("cobalt-pg-"));
    await new Promise((r) => setTimeout(r, 10));
  }
  const r = await run.done;
  expect(r.code, r.stderr).toBe(0);
  expect(seen).toBe(true);
  expect(readdirSync(scratch)).toEqual([]);

  const verdict = readFileSync(join(manifestPath, "..", "verified.json"), "utf8");
  expect(JSON.parse(verdict).ok).toBe(true);
  // The manifest now says the restore needs a petabyte.
  manifest.source.databaseBytes = 1e15;
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const full = await runCli(["verify", "--from", dest, "--backup", id, "--scratch-dir", scratch, "--json"]);
  expect(full.code, full.stderr).toBe(2);
  const free = statfsSync(scratch).bavail * statfsSync(scratch).bsize;
  expect(free).toBeLessThan(1e15);
  expect(full.stderr).toMatch(new RegExp(`cobalt-backup: error: verifying needs about .* free in ${scratch} for the scratch PostgreSQL, which has .* free: choose a directory with more room with --scratch-dir <dir> \\(verify\\.scratchDir in the configuration\\)`));
  expect(full.json).toMatchObject({ ok: false, error: { tag: "ScratchSpaceTooSmall" } });
  expect(readdirSync(scratch)).toEqual([]);
  // Not a verdict on the backup: the last verification stays as it was.
  expect(readFileSync(join(manifestPath, "..", "verified.json"), "utf8")).toBe(verdict);
});

it("run takes the scratch directory from verify.scratchDir", async () => {
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("scratch_run");
  await pg15.query(db, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10) g");
  const scratch = join(root, "run-scratch");
  mkdirSync(scratch);
  const seenBy = join(root, "data-directory");
  const config = join(root, "run.json");
  writeFileSync(config, JSON.stringify({
    source: { url: pg15.url(db) },
    store: { url: pathToFileURL(join(root, "run-store")).href },
    // The hook runs against the scratch copy: it tells where that server keeps its data.
    verify: { scratchDir: scratch, hook: { command: `psql -X -At -c "SHOW data_directory" > ${seenBy}` } },
  }));
  const r = await runCli(["run", "--config", config, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(readFileSync(seenBy, "utf8")).toMatch(new RegExp(`^${scratch}/cobalt-pg-\\w+/data\\n$`));
  expect(readdirSync(scratch)).toEqual([]);
});
