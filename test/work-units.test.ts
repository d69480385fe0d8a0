/**
 * Issue 12: a backup is a plan of independent, idempotent units. Big tables split into chunks
 * round-trip by the oracle; a unit run twice leaves one object and one marker, a damaged one is
 * redone; commit refuses missing units; a format-1 backup still restores and verifies; an
 * unfinished backup is never listed and prune removes all of it; a live source cannot resume.
 */
import { cpSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { commitBackup, dumpUnit, fileStore, planDump, type PgConnect } from "@cobalt-backup/core";
import { runCli } from "./support/cli.ts";
import { repoRoot } from "./support/corpus.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { backup, restore, tempStore } from "./support/roundtrip.ts";

/** Smaller than one heap page: every table with a row is split. */
const TINY = "4096";

describe.each(["pagila", "edge-cases", "cobalt", "dependency-order"] as const)("PostgreSQL 15, %s split into chunks", (corpus) => {
  it("round-trips identically by the oracle", async () => {
    const pg15 = cluster(15);
    const source = await pg15.newDatabase(`split_${corpus.replace("-", "_")}`, `${corpus}_tpl`);
    const dest = tempStore();
    const id = await backup(pg15.url(source), dest, 4, ["--split-larger-than", TINY]);
    const manifest = JSON.parse(readFileSync(join(fileURLToPath(dest), id, "manifest.json"), "utf8"));
    expect(manifest.format).toBe("cobalt-backup/2");
    expect(manifest.consistency).toBe("live");
    // Every table of more than one heap page is in more than one part (a one-page table without
    // an integer key, or a table of one row, cannot be cut smaller).
    const pages = Object.fromEntries(
      (await pg15.query<{ t: string; pages: number }>(source, "SELECT n.nspname || '.' || c.relname AS t, (pg_relation_size(c.oid) / 8192)::int AS pages FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'")).map((r) => [r.t, r.pages]),
    );
    const multiPage = manifest.tables.filter((t: { schema: string; table: string }) => pages[`${t.schema}.${t.table}`]! > 1);
    for (const t of multiPage) expect(t.parts.length, `${t.schema}.${t.table}`).toBeGreaterThan(1);
    expect(manifest.tables.filter((t: { parts: unknown[] }) => t.parts.length > 1).length).toBeGreaterThan(2);

    const target = await pg15.newDatabase(`split_${corpus.replace("-", "_")}_restored`);
    await restore(dest, id, pg15.url(target));
    const opts = { ownersAndPrivileges: corpus === "cobalt" };
    expect(pgDumpSchema(pg15.url(target), opts)).toEqual(pgDumpSchema(pg15.url(source), opts));
    expect(await dataDigest(pg15.url(target))).toEqual(await dataDigest(pg15.url(source)));
    const verify = await runCli(["verify", "--from", dest, "--backup", id, "--target", pg15.url(), "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
  });
});

/** The library stages on a database nothing writes to, as a state machine calls them. */
function stages(url: string, dest: string) {
  const connect: PgConnect = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return c;
  };
  const store = fileStore(dest);
  const tool = { name: "cobalt-backup", version: "test" };
  return { connect, store, tool };
}

describe("units", () => {
  it("a server on this machine, through loopback or a Unix socket, is not split by default: its cores are the ones compressing", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("colocated", "pagila_tpl");
    const tcp = new URL(pg15.url(db));
    const socket = `postgresql://postgres:${tcp.password}@/${db}?host=/tmp&port=${tcp.port}`;
    for (const url of [tcp.href, socket]) {
      const dest = tempStore();
      const { connect, store } = stages(url, dest);
      const id = `${db}/20261130T010203.000Z`;
      const source = { kind: "rds-snapshot" as const, host: "127.0.0.1", port: Number(tcp.port), database: db, user: "postgres", instance: "frozen-test", snapshotId: "snap-1" };
      const planned = await planDump({ connect, store }, { id, consistency: "frozen", source, settings: { compression: "zstd", jobs: 2 } });
      expect(planned.isOk(), planned.isErr() ? planned.error.message : "").toBe(true);
      const plan = JSON.parse(readFileSync(join(fileURLToPath(dest), id, "plan.json"), "utf8"));
      expect(plan.settings.splitLargerThan, url === socket ? "Unix socket" : "loopback").toBe(Number.MAX_SAFE_INTEGER);
      expect(plan.source).not.toHaveProperty("sharesHost");
    }
  });

  it("a table's size counts its TOAST: a few rows of large values are a large table, dumped first", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("toasted");
    await pg15.query(db, `CREATE TABLE small_rows AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g;
      CREATE TABLE big_values (id int, body text);
      INSERT INTO big_values SELECT g, (SELECT string_agg(md5((g * 1000 + k)::text), '') FROM generate_series(1, 20000) k) FROM generate_series(1, 4) g;`);
    const dest = tempStore();
    const { connect, store } = stages(pg15.url(db), dest);
    const id = `${db}/20261130T010203.000Z`;
    const source = { kind: "rds-snapshot" as const, host: "127.0.0.1", port: 5432, database: db, user: "postgres", instance: "frozen-test", snapshotId: "snap-1" };
    expect((await planDump({ connect, store }, { id, consistency: "frozen", source, settings: { compression: "zstd", jobs: 2 } })).isOk()).toBe(true);
    const plan = JSON.parse(readFileSync(join(fileURLToPath(dest), id, "plan.json"), "utf8"));
    const size = (name: string) => plan.tables.find((t: { table: string }) => t.table === name).sizeBytes;
    // 4 rows of 640 kB each: one heap page, the rest in TOAST.
    expect(size("big_values")).toBeGreaterThan(2 * 2 ** 20);
    expect(size("big_values")).toBeGreaterThan(size("small_rows"));
  });

  it("a unit run twice leaves one object and one marker; a truncated object or a damaged marker is redone; commit refuses a missing unit", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("units", "pagila_tpl");
    const dest = tempStore();
    const { connect, store, tool } = stages(pg15.url(db), dest);
    const id = `${db}/20261130T010203.000Z`;
    const source = { kind: "rds-snapshot" as const, host: "127.0.0.1", port: 5432, database: db, user: "postgres", instance: "frozen-test", snapshotId: "snap-1" };
    const plan = await planDump({ connect, store }, { id, consistency: "frozen", source, settings: { compression: "zstd", jobs: 2, splitLargerThan: 65536 } });
    expect(plan.isOk(), plan.isErr() ? plan.error.message : "").toBe(true);
    const { units } = plan._unsafeUnwrap();
    expect(units).toBeGreaterThan(20);
    // Planning again (a resumed run) reuses the stored plan; another snapshot is refused.
    expect((await planDump({ connect, store }, { id, consistency: "frozen", source, settings: { compression: "zstd", jobs: 2 } }))._unsafeUnwrap()).toMatchObject({ units, resumed: true });
    const other = await planDump({ connect, store }, { id, consistency: "frozen", source: { ...source, snapshotId: "snap-2" }, settings: { compression: "zstd", jobs: 2 } });
    expect(other._unsafeUnwrapErr()).toMatchObject({ _tag: "ResumeRefused", message: expect.stringContaining("mix two snapshots") });

    const dir = join(fileURLToPath(dest), id);
    const files = () => readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(join(dir, f)).isFile()).sort();
    const first = (await dumpUnit({ connect, store }, { id, unit: 0, attempt: "a" }))._unsafeUnwrap();
    expect(first.reused).toBe(false);
    const after = files();
    const again = (await dumpUnit({ connect, store }, { id, unit: 0, attempt: "b" }))._unsafeUnwrap();
    expect(again).toMatchObject({ reused: true, key: first.key, bytes: first.bytes });
    expect(files()).toEqual(after);
    expect(files().filter((f) => f.startsWith("units/0000"))).toEqual(["units/00000.json"]);

    truncateSync(join(dir, first.key), 3);
    const redone = (await dumpUnit({ connect, store }, { id, unit: 0, attempt: "c" }))._unsafeUnwrap();
    expect(redone).toMatchObject({ reused: false, rows: first.rows });
    expect(statSync(join(dir, first.key)).size).toBe(redone.bytes);
    writeFileSync(join(dir, "units/00000.json"), "{ not json");
    expect((await dumpUnit({ connect, store }, { id, unit: 0, attempt: "d" }))._unsafeUnwrap()).toMatchObject({ reused: false });
    expect(JSON.parse(readFileSync(join(dir, "units/00000.json"), "utf8"))).toMatchObject({ unit: 0, attempt: "d" });

    // Commit refuses while units are missing, and nothing is listed.
    const early = await commitBackup({ store, tool }, { id, attempt: "e" });
    expect(early._unsafeUnwrapErr()).toMatchObject({ _tag: "UnitsMissing" });
    expect((early._unsafeUnwrapErr() as { units: number[] }).units).toHaveLength(units - 1);
    expect((await runCli(["list", "--from", dest, "--json"])).json!.backups).toEqual([]);

    for (let unit = 1; unit < units; unit++) expect((await dumpUnit({ connect, store }, { id, unit, attempt: "e" })).isOk()).toBe(true);
    const committed = (await commitBackup({ store, tool }, { id, attempt: "e" }))._unsafeUnwrap();
    expect(committed.manifest.units).toEqual({ total: units, reused: 1 });
    expect(committed.manifest.consistency).toBe("frozen");
    const target = await pg15.newDatabase("units_restored");
    await restore(dest, id, pg15.url(target));
    expect(await dataDigest(pg15.url(target))).toEqual(await dataDigest(pg15.url(db)));
    // A frozen source is kept read-only for new sessions while it is dumped.
    await expect(pg15.query(db, "CREATE TABLE nope (a int)")).rejects.toThrow(/read-only transaction/);
  });

  it("an unfinished backup (plan, units, no manifest) is never listed; prune --grace-hours 0 removes all of it", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("unfinished", "chinook_tpl");
    const dest = tempStore();
    const { connect, store } = stages(pg15.url(db), dest);
    const id = `${db}/20261130T020304.000Z`;
    const source = { kind: "rds-snapshot" as const, host: "127.0.0.1", port: 5432, database: db, user: "postgres", instance: "frozen-test", snapshotId: "snap-1" };
    await planDump({ connect, store }, { id, consistency: "frozen", source, settings: { compression: "zstd", jobs: 2 } });
    for (const unit of [0, 1, 2]) await dumpUnit({ connect, store }, { id, unit, attempt: "a" });
    const dir = join(fileURLToPath(dest), id);
    expect(readdirSync(join(dir, "units"))).toHaveLength(3);
    expect((await runCli(["list", "--from", dest, "--json"])).json!.backups).toEqual([]);
    const prune = await runCli(["prune", "--from", dest, "--grace-hours", "0", "--json"]);
    expect(prune.code, prune.stderr).toBe(0);
    expect(readdirSync(fileURLToPath(dest), { recursive: true }).filter((f) => statSync(join(fileURLToPath(dest), String(f))).isFile())).toEqual([]);
  });

  it("a backup of a live source cannot be continued: --resume is refused with the reason", async () => {
    const pg15 = cluster(15);
    const r = await runCli(["backup", "--source", pg15.url("postgres"), "--dest", tempStore(), "--resume", "postgres/20261130T010203.000Z"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot be continued/);
    expect(r.stderr).toMatch(/live database/);
  });

  it("a format-1 backup (one object per table) still restores and verifies", async () => {
    const dest = tempStore();
    cpSync(join(repoRoot, "test/fixtures/format-1"), fileURLToPath(dest), { recursive: true });
    const [id] = readdirSync(join(fileURLToPath(dest), "shop")).map((t) => `shop/${t}`);
    const pg15 = cluster(15);
    const target = await pg15.newDatabase("format1");
    await restore(dest, id!, pg15.url(target));
    expect(await pg15.query(target, "SELECT (SELECT count(*) FROM purchase) AS p, (SELECT count(*) FROM customer) AS c, (SELECT sum(amount) FROM purchase)::text AS s")).toEqual([{ p: "300", c: "50", s: "56437.50" }]);
    expect(await pg15.query(target, "SELECT convert_from(lo_get(oid), 'UTF8') AS lo FROM pg_largeobject_metadata")).toEqual([{ lo: "a format-1 large object" }]);
    const verify = await runCli(["verify", "--from", dest, "--backup", id!, "--target", pg15.url(), "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.json!.report).toMatchObject({ ok: true });
  });
});
