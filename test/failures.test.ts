/**
 * Acceptance 4-6 and secrets, through the real CLI against the real PostgreSQL 15 cluster:
 * - 4: a corrupt or missing stored object (data/*.copy.zst, schema.json.zst) fails `verify` and
 *   `restore` with an error naming the object, and nothing is reported green.
 * - 5: bad input (unreachable host, wrong password, missing database, unwritable --dest, unknown
 *   backup id, non-empty restore target) is one clear error line with a hint, a non-zero exit,
 *   and nothing written to the store or the target.
 * - 6: a backup whose source connection is killed mid-COPY fails, commits no manifest and is
 *   not listed.
 * - The source password never reaches output or the stored backup.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { zstdDecompressSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, type CliRun } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest } from "./support/oracle.ts";

// ---------------------------------------------------------------------------------------------
// helpers

const root = mkdtempSync(join(tmpdir(), "cobalt-failures-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
/** A fresh path inside this file's temp root, created as an empty directory unless `create` is false. */
function tempDir(name: string, create = true): string {
  const d = join(root, `${name}-${++dirs}`);
  if (create) mkdirSync(d);
  return d;
}
const fileUrl = (dir: string): string => pathToFileURL(dir).href;

/** Every file under `dir` (relative paths, `/`-separated, hidden ones included); [] when `dir` does not exist. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join("/"));
    }
  };
  walk(dir);
  return out.sort();
}

/** Every entry (files and directories) under `dir`, to prove nothing at all was created. */
function entriesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).map((p) => p.split(sep).join("/")).sort();
}

/**
 * The command's error, asserted to be exactly one line `cobalt-backup: error: ...` and the last
 * thing on stderr. The only other stderr lines allowed are the CLI's structured JSON log events
 * (it writes those to stderr whenever stderr is not a TTY); no stack trace, no stray text.
 */
function errorLine(r: CliRun): string {
  const lines = r.stderr.trim().split("\n").filter((l) => l.trim() !== "");
  const errors = lines.filter((l) => l.startsWith("cobalt-backup: error: "));
  expect(errors, `stderr:\n${r.stderr}`).toHaveLength(1);
  expect(lines[lines.length - 1], `stderr:\n${r.stderr}`).toBe(errors[0]);
  for (const l of lines.slice(0, -1)) {
    let event: Record<string, unknown> | undefined;
    try {
      event = JSON.parse(l);
    } catch {
      event = undefined;
    }
    expect(event, `stderr line that is neither the error nor a JSON log event: ${l}`).toMatchObject({ level: "info", event: expect.any(String) });
  }
  return errors[0]!;
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
async function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/** Inverts one byte of a file, in its middle unless told where. */
function flipByte(file: string, offset?: number): void {
  const b = readFileSync(file);
  const at = offset ?? Math.floor(b.length / 2);
  b[at] = b[at]! ^ 0xff;
  writeFileSync(file, b);
}

/** The directory a backup id occupies in a file store. */
const backupDir = (store: string, id: string): string => join(store, ...id.split("/"));

/** User relations in a database (empty for a fresh CREATE DATABASE). */
async function userRelations(db: string): Promise<string[]> {
  const rows = await cluster(15).query<{ n: string }>(
    db,
    `SELECT n.nspname || '.' || c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`,
  );
  return rows.map((r) => r.n);
}

async function listJson(store: string): Promise<any[]> {
  const r = await runCli(["list", "--from", fileUrl(store), "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json?.ok).toBe(true);
  return r.json!.backups;
}

/** Runs the CLI, but fails (and kills it) instead of hanging the suite if it never exits. */
async function runCliOrHang(args: string[], limitMs = 30_000): Promise<CliRun | "hung"> {
  const { child, done } = startCli(args);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), limitMs);
  });
  const r = await Promise.race([done, hung]);
  clearTimeout(timer);
  if (r === "hung") {
    child.kill("SIGKILL");
    await done;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// one good pagila backup; each scenario damages its own copy

const pgc = () => cluster(15);
let sourceDb: string;
let password: string;
let pristine: string; // store directory holding exactly one committed backup
let backupId: string;
let backupRun: CliRun;

beforeAll(async () => {
  sourceDb = await pgc().newDatabase("failures_src", "pagila_tpl");
  password = decodeURIComponent(new URL(pgc().url()).password);
  expect(password.length).toBeGreaterThan(8);
  pristine = tempDir("pristine");
  backupRun = await runCli(["backup", "--source", pgc().url(sourceDb), "--dest", fileUrl(pristine), "--json"]);
  expect(backupRun.code, backupRun.stderr).toBe(0);
  backupId = backupRun.json!.id;
  expect(backupId).toMatch(new RegExp(`^${sourceDb}/`));
});

/** A copy of the pristine store, and the manifest of its backup. */
function storeCopy(name: string): { store: string; dir: string; manifest: any } {
  const store = tempDir(name);
  cpSync(pristine, store, { recursive: true });
  const dir = backupDir(store, backupId);
  return { store, dir, manifest: JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) };
}

/** The manifest's table with the most rows, and its (one) data object: the table to watch in the target. */
function biggestTable(manifest: any): { key: string; schema: string; table: string; rows: number } {
  const t = [...manifest.tables].sort((a: any, b: any) => b.rows - a.rows)[0];
  expect(t.parts).toHaveLength(1);
  expect(t.parts[0].key).toMatch(/^data\/\d+\.copy\.zst$/);
  expect(t.rows).toBeGreaterThan(1000);
  return { ...t, key: t.parts[0].key };
}

// ---------------------------------------------------------------------------------------------
// 4. corruption is caught

describe("4: a damaged backup is never reported good", () => {
  it("control: the undamaged copy verifies, and list then shows it verified (so verified:false below means something)", async () => {
    const { store } = storeCopy("control");
    expect((await listJson(store)).map((b) => [b.id, b.verified, b.verification])).toEqual([[backupId, false, "never"]]);
    const v = await runCli(["verify", "--from", fileUrl(store), "--backup", backupId, "--target", pgc().url("postgres"), "--json"]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json?.ok).toBe(true);
    expect((await listJson(store)).map((b) => [b.id, b.verified, b.verification])).toEqual([[backupId, true, "passed"]]);
  });

  for (const damage of ["flipped byte", "deleted"] as const) {
    it(`data object ${damage}: verify fails naming the object, and list does not show it verified`, async () => {
      const { store, dir, manifest } = storeCopy(`verify-data-${damage.replace(" ", "-")}`);
      const t = biggestTable(manifest);
      if (damage === "flipped byte") flipByte(join(dir, t.key));
      else rmSync(join(dir, t.key));

      const v = await runCli(["verify", "--from", fileUrl(store), "--backup", backupId, "--target", pgc().url("postgres")]);
      expect(v.code, v.stderr).toBe(3);
      const line = errorLine(v);
      expect(line).toContain(t.key);
      expect(line).toMatch(damage === "deleted" ? /missing/ : /corrupt|damaged|cannot be read|sha256/);
      expect(v.stdout).not.toMatch(/^verified /m);
      // The failed verification is recorded: list tells it from a backup never verified.
      expect(JSON.parse(readFileSync(join(dir, "verified.json"), "utf8"))).toMatchObject({ ok: false, problem: expect.stringContaining(t.key) });
      expect((await listJson(store)).map((b) => [b.id, b.verified, b.verification])).toEqual([[backupId, false, "failed"]]);
      const human = await runCli(["list", "--from", fileUrl(store)]);
      expect(human.stdout).toMatch(new RegExp(`${backupId}.* FAILED$`, "m"));
    });

    it(`data object ${damage}: restore fails naming the object, and the table's rows are not in the target`, async () => {
      const { store, dir, manifest } = storeCopy(`restore-data-${damage.replace(" ", "-")}`);
      const t = biggestTable(manifest);
      if (damage === "flipped byte") flipByte(join(dir, t.key));
      else rmSync(join(dir, t.key));
      const target = await pgc().newDatabase("failures_corrupt_target");

      const r = await runCli(["restore", "--from", fileUrl(store), "--backup", backupId, "--target", pgc().url(target)]);
      expect(r.code, r.stderr).toBe(3);
      const line = errorLine(r);
      expect(line).toContain(t.key);
      expect(line).toMatch(damage === "deleted" ? /missing/ : /corrupt|damaged|cannot be read|sha256/);
      expect(r.stdout).not.toMatch(/restored/);

      if (damage === "deleted") {
        // Every object is checked before the target is touched.
        expect(await userRelations(target)).toEqual([]);
      } else {
        const name = `"${t.schema}"."${t.table}"`;
        const [row] = await pgc().query<{ exists: boolean }>(target, `SELECT to_regclass($1) IS NOT NULL AS exists`, [name]);
        if (row!.exists) expect(await pgc().query(target, `SELECT count(*)::int AS n FROM ${name}`)).toEqual([{ n: 0 }]);
      }
    });
  }

  it("data object flipped byte: verify on its default embedded PostgreSQL scratch (no --target) fails too", async () => {
    const { store, dir, manifest } = storeCopy("verify-embedded");
    const t = biggestTable(manifest);
    flipByte(join(dir, t.key));
    const v = await runCli(["verify", "--from", fileUrl(store), "--backup", backupId]);
    expect(v.code, `exit code of a failed verify; stderr:\n${v.stderr}`).toBe(3);
    const line = errorLine(v);
    expect(line).toContain(t.key);
    expect(v.stdout).not.toMatch(/^verified /m);
    expect((await listJson(store)).map((b) => [b.id, b.verified, b.verification])).toEqual([[backupId, false, "failed"]]);
  });

  it("schema.json.zst with a flipped byte: verify and restore both fail naming it", async () => {
    const { store, dir, manifest } = storeCopy("schema-flip");
    expect(manifest.schema.key).toBe("schema.json.zst");
    flipByte(join(dir, "schema.json.zst"));

    const v = await runCli(["verify", "--from", fileUrl(store), "--backup", backupId, "--target", pgc().url("postgres")]);
    expect(v.code, v.stderr).toBe(3);
    expect(errorLine(v)).toMatch(/schema\.json\.zst.*(corrupt|damaged|cannot be read|sha256)|(corrupt|damaged).*schema\.json\.zst/);
    expect(v.stdout).not.toMatch(/^verified /m);
    expect((await listJson(store)).map((b) => [b.id, b.verified])).toEqual([[backupId, false]]);

    const target = await pgc().newDatabase("failures_schema_target");
    const r = await runCli(["restore", "--from", fileUrl(store), "--backup", backupId, "--target", pgc().url(target)]);
    expect(r.code, r.stderr).toBe(3);
    expect(errorLine(r)).toMatch(/schema\.json\.zst.*(corrupt|damaged|cannot be read|sha256)|(corrupt|damaged).*schema\.json\.zst/);
    expect(r.stdout).not.toMatch(/restored/);
    expect(await userRelations(target)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. bad input: one clear error line, non-zero exit, nothing written

describe("5: bad input gets one clear error and writes nothing", () => {
  /** Runs a backup that must fail, and checks the shared expectations; returns the error line. */
  async function failedBackup(source: string, dest: string, secrets: string[]): Promise<string> {
    const r = await runCli(["backup", "--source", source, "--dest", fileUrl(dest)]);
    // Unreachable or misconfigured input: exit 2, as the README says.
    expect(r.code, r.stderr).toBe(2);
    const line = errorLine(r);
    expect(r.stdout).toBe("");
    for (const s of secrets) {
      expect(r.stderr).not.toContain(s);
      expect(r.stdout).not.toContain(s);
    }
    // Nothing in the store: the directory is absent, or empty (no backup prefix, no file).
    expect(entriesUnder(dest)).toEqual([]);
    return line;
  }

  it("unreachable host", async () => {
    const port = await deadPort();
    const secret = "unreachable-Secret-4711";
    const line = await failedBackup(`postgresql://postgres:${secret}@127.0.0.1:${port}/pagila`, tempDir("unreachable", false), [secret]);
    expect(line).toContain(`127.0.0.1:${port}`);
    expect(line).toMatch(/cannot reach/);
    expect(line).toMatch(/check the host and port/);
  });

  it("wrong password", async () => {
    const wrong = "Wrong-Passw0rd-0815";
    const url = pgc().url(sourceDb).replace(`:${password}@`, `:${wrong}@`);
    expect(url).toContain(wrong);
    const line = await failedBackup(url, tempDir("wrongpw", false), [wrong, password]);
    expect(line).toMatch(/password authentication failed|rejected the credentials/);
    expect(line).toMatch(/check the user name and password/);
  });

  it("nonexistent database", async () => {
    const missing = `no_such_db_${process.pid}`;
    const line = await failedBackup(pgc().url(missing), tempDir("nodb", false), [password]);
    expect(line).toContain(missing);
    expect(line).toMatch(/does not exist/);
    expect(line).toMatch(/check the database name/);
  });

  it("a role allowed fewer connections than the backup holds (--jobs 2 holds three): the limit, named with what to change", async () => {
    const role = `cobalt_limited_${process.pid}`;
    const secret = "Limited-Passw0rd-31";
    await pgc().query("postgres", `DROP ROLE IF EXISTS ${role}`);
    await pgc().query("postgres", `CREATE ROLE ${role} LOGIN PASSWORD '${secret}' CONNECTION LIMIT 2`);
    try {
      const url = new URL(pgc().url(sourceDb));
      url.username = role;
      url.password = secret;
      // Without the right to read the tables: the lock (the first thing a backup does with them) is refused, with what to grant.
      const denied = await runCli(["backup", "--source", url.href, "--dest", fileUrl(tempDir("denied", false)), "--jobs", "1"]);
      expect(denied.code, denied.stderr).not.toBe(0);
      expect(errorLine(denied)).toMatch(/^cobalt-backup: error: backup failed: could not lock the tables to back up: permission denied for table \w+: the backup's role must be able to read every table \(grant it pg_read_all_data/);
      await pgc().query("postgres", `GRANT pg_read_all_data TO ${role}`);
      // The workers connect while the coordinator does: whichever is refused, the run ends with its reason.
      const r = await runCli(["backup", "--source", url.href, "--dest", fileUrl(tempDir("limited", false)), "--jobs", "2"]);
      expect(r.code, r.stderr).toBe(2);
      const line = errorLine(r);
      expect(line).toMatch(/too many connections for role/);
      expect(line).toMatch(/one connection per job plus one/);
      expect(line).toMatch(/CONNECTION LIMIT|max_connections/);
      expect(r.stderr).not.toContain(secret);
      expect(r.stderr).not.toMatch(/Unhandled|UnhandledPromiseRejection/);
    } finally {
      await pgc().query("postgres", `DROP ROLE IF EXISTS ${role}`);
    }
  });

  it("unwritable --dest: a path whose parent is a regular file", async () => {
    const parent = tempDir("unwritable");
    writeFileSync(join(parent, "afile"), "not a directory\n");
    const dest = join(parent, "afile", "sub");
    const r = await runCli(["backup", "--source", pgc().url(sourceDb), "--dest", fileUrl(dest)]);
    expect(r.code, r.stderr).not.toBe(0);
    const line = errorLine(r);
    expect(line).toContain(fileUrl(dest));
    expect(line).toMatch(/cannot write/);
    expect(line).toMatch(/choose a --dest directory/);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toContain(password);
    expect(filesUnder(parent)).toEqual(["afile"]);
    expect(readFileSync(join(parent, "afile"), "utf8")).toBe("not a directory\n");
  });

  it("unwritable --dest: a path under /proc", async () => {
    const dest = `/proc/cobalt-forbidden-${process.pid}/backups`;
    const r = await runCliOrHang(["backup", "--source", pgc().url(sourceDb), "--dest", `file://${dest}`]);
    expect(r, "backup --dest file:///proc/... never exited (killed after 30 s)").not.toBe("hung");
    const run = r as CliRun;
    expect(run.code, run.stderr).not.toBe(0);
    const line = errorLine(run);
    expect(line).toContain(`file://${dest}`);
    expect(line).toMatch(/choose a --dest directory/);
    expect(existsSync(dest)).toBe(false);
  });

  for (const command of ["restore", "verify"] as const) {
    it(`${command} of an unknown backup id`, async () => {
      const { store } = storeCopy(`unknown-${command}`);
      const before = filesUnder(store);
      const target = await pgc().newDatabase(`failures_unknown_${command}`);
      const unknown = `${sourceDb}/20000101T000000.000Z`;
      const args =
        command === "restore"
          ? ["restore", "--from", fileUrl(store), "--backup", unknown, "--target", pgc().url(target)]
          : ["verify", "--from", fileUrl(store), "--backup", unknown, "--target", pgc().url("postgres")];
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(2);
      const line = errorLine(r);
      expect(line).toContain(unknown);
      expect(line).toMatch(/run 'list'/);
      expect(line).toContain(backupId); // it points at the backup that does exist
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toContain(password);
      expect(filesUnder(store)).toEqual(before);
      expect(await userRelations(target)).toEqual([]);
    });

    it(`${command} of latest from a store holding no backups`, async () => {
      const store = tempDir(`empty-${command}`, false);
      const args =
        command === "restore"
          ? ["restore", "--from", fileUrl(store), "--backup", "latest", "--target", pgc().url(await pgc().newDatabase("failures_empty"))]
          : ["verify", "--from", fileUrl(store), "--backup", "latest", "--target", pgc().url("postgres")];
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(2);
      const line = errorLine(r);
      expect(line).toMatch(/no complete backup/);
      expect(line).toContain(fileUrl(store));
      expect(r.stdout).toBe("");
      expect(existsSync(store)).toBe(false);
    });
  }

  it("restore into a non-empty target is refused without --clean and leaves it unchanged; with --clean it succeeds", async () => {
    const target = await pgc().newDatabase("failures_nonempty");
    await pgc().query(target, `CREATE TABLE keep_me (note text); INSERT INTO keep_me VALUES ('precious')`);
    const from = fileUrl(pristine);
    const before = filesUnder(pristine);

    const refused = await runCli(["restore", "--from", from, "--backup", backupId, "--target", pgc().url(target)]);
    expect(refused.code, refused.stderr).toBe(2);
    const line = errorLine(refused);
    expect(line).toMatch(/not empty/);
    expect(line).toContain("keep_me");
    expect(line).toMatch(/--clean/);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).not.toContain(password);
    expect(await userRelations(target)).toEqual(["public.keep_me"]);
    expect(await pgc().query(target, `SELECT note FROM keep_me`)).toEqual([{ note: "precious" }]);
    expect(filesUnder(pristine)).toEqual(before);

    const cleaned = await runCli(["restore", "--from", from, "--backup", backupId, "--target", pgc().url(target), "--clean", "--json"]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.json).toMatchObject({ ok: true, id: backupId });
    expect(await userRelations(target)).not.toContain("public.keep_me");
    const [src, dst] = [await dataDigest(pgc().url(sourceDb)), await dataDigest(pgc().url(target))];
    expect(Object.keys(src.tables).length).toBeGreaterThan(10);
    expect(dst.tables).toEqual(src.tables);
  });
});

// ---------------------------------------------------------------------------------------------
// 6. an interrupted backup commits nothing

describe("6: a backup whose source connection is killed mid-COPY", () => {
  it("exits non-zero, leaves no manifest, and is not listed", async () => {
    const c = pgc();
    const db = await c.newDatabase("failures_interrupt");
    await c.query(db, `CREATE TABLE big_a AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 1000000) g;
      CREATE TABLE small AS SELECT g AS id FROM generate_series(1, 10) g; ANALYZE;`);
    const dest = tempDir("interrupted", false);
    const sql = (q: string) => c.query(db, q);
    const copying = `SELECT a.pid FROM pg_stat_activity a WHERE a.application_name = 'cobalt-backup' AND a.datname = current_database()
                       AND a.state = 'active' AND a.query LIKE '%COPY %"public"."big_a"%'`;

    const { child, done } = startCli(["backup", "--source", c.url(db), "--dest", fileUrl(dest), "--jobs", "2", "--json"]);
    let exited = false;
    void done.then(() => (exited = true));
    let stopped = false;
    try {
      // Polls (never a fixed sleep) until the COPY of big_a (45 MB of text) streams.
      while ((await sql(copying)).length === 0) {
        if (exited) throw new Error(`the backup exited before copying big_a\n${(await done).stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      // Frozen, the CLI reads nothing more: the COPY cannot finish before its backend is terminated.
      child.kill("SIGSTOP");
      stopped = true;
      const killed = await sql(`SELECT pg_terminate_backend(pid) AS t FROM (${copying}) c`);
      // big_a is in chunks: both workers may be copying one of them.
      expect(killed.length).toBeGreaterThanOrEqual(1);
      expect(killed.every((k) => k.t === true)).toBe(true);
      child.kill("SIGCONT");
      stopped = false;

      const r = await done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.json).toMatchObject({ ok: false, error: { tag: "CopyFailed" } });
      const line = errorLine(r);
      expect(line).toMatch(/backup failed/);
      expect(line).toMatch(/reading table public\.big_a( \(chunk \d+ of \d+\))? failed/);
      expect(line).toMatch(/terminat/i);
      expect(r.stderr).not.toContain(password);
    } finally {
      if (stopped) child.kill("SIGCONT");
      if (!exited) {
        child.kill("SIGKILL");
        await done;
      }
    }

    const files = filesUnder(dest);
    expect(files.filter((f) => f.endsWith("manifest.json"))).toEqual([]);
    expect(await listJson(dest)).toEqual([]);
    // What was written before the failure (schema, finished tables) is deleted, partial files too.
    expect(files).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// secrets

describe("secrets: the source password never leaves the URL", () => {
  it("is absent from the output of a failing backup (wrong database), in human and JSON modes", async () => {
    const url = pgc().url(`missing_db_${process.pid}`);
    expect(url).toContain(password);
    for (const json of [false, true]) {
      const dest = tempDir("secret-fail", false);
      const r = await runCli(["backup", "--source", url, "--dest", fileUrl(dest), ...(json ? ["--json"] : [])]);
      expect(r.code, r.stderr).not.toBe(0);
      errorLine(r);
      expect(r.stderr).not.toContain(password);
      expect(r.stdout).not.toContain(password);
      if (json) expect(r.json).toMatchObject({ ok: false });
    }
  });

  it("is absent from the output and every stored object of a successful backup", async () => {
    expect(backupRun.stdout + backupRun.stderr).not.toContain(password);
    const dir = backupDir(pristine, backupId);
    const manifest = readFileSync(join(dir, "manifest.json"), "utf8");
    expect(manifest).not.toContain(password);
    expect(JSON.parse(manifest).source).toMatchObject({ host: "127.0.0.1", database: sourceDb, user: "postgres" });
    const objects = filesUnder(dir);
    expect(objects).toContain("schema.json.zst");
    for (const f of objects) {
      const raw = readFileSync(join(dir, f));
      const text = (f.endsWith(".zst") ? zstdDecompressSync(raw) : raw).toString("utf8");
      expect(text, f).not.toContain(password);
    }
    expect(statSync(join(dir, "manifest.json")).size).toBeGreaterThan(0);
  });
});
