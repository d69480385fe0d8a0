/**
 * Issue 3: our edge-case corpus (test/corpus/edge-cases.sql: every object kind and value shape
 * the capture must carry) round-trips under the design.md oracle; a 15 backup restores into 17;
 * an object kind the capture cannot reproduce stops the backup with its name.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { backup, inventory, restore, tempStore } from "./support/roundtrip.ts";

it("PostgreSQL 15: the edge-case corpus round-trips: pg_dump schema, rows, sequences, matviews, large objects", async () => {
  const pg15 = cluster(15);
  const source = await pg15.newDatabase("edge", "edge-cases_tpl");
  const dest = tempStore();
  const id = await backup(pg15.url(source), dest);
  const target = await pg15.newDatabase("edge_restored");
  await restore(dest, id, pg15.url(target));

  expect(pgDumpSchema(pg15.url(target))).toEqual(pgDumpSchema(pg15.url(source)));
  const [src, dst] = [await dataDigest(pg15.url(source)), await dataDigest(pg15.url(target))];
  expect(Object.keys(src.tables).length).toBeGreaterThan(20);
  expect(src.matviews).toEqual({ "app.mood_counts": true, "app.never_filled": false });
  expect(src.sequences["app.invoice_no"]).toBe("250/false");
  expect(dst).toEqual(src);
  expect(await inventory(pg15.url(target))).toEqual(await inventory(pg15.url(source)));
});

it("a backup taken on PostgreSQL 15 restores into PostgreSQL 17", async () => {
  const [pg15, pg17] = [cluster(15), cluster(17)];
  for (const corpus of ["edge-cases", "pagila"]) {
    const source = await pg15.newDatabase("up", `${corpus}_tpl`);
    const dest = tempStore();
    const id = await backup(pg15.url(source), dest);
    const target = await pg17.newDatabase("up_restored");
    await restore(dest, id, pg17.url(target));
    expect(await dataDigest(pg17.url(target))).toEqual(await dataDigest(pg15.url(source)));
    const names = (inv: { kind: string; name: string }[]) => inv.map((e) => `${e.kind} ${e.name}`);
    expect(names(await inventory(pg17.url(target)))).toEqual(names(await inventory(pg15.url(source))));
  }
});

it("refuses to back up an object kind it cannot reproduce, naming it, and writes no backup", async () => {
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("unsupported");
  await pg15.query(db, `CREATE TABLE t (a int);
    CREATE FUNCTION same_parity(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 % 2 = $2 % 2';
    CREATE OPERATOR public.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = same_parity)`);
  const dest = tempStore();
  const r = await runCli(["backup", "--source", pg15.url(db), "--dest", dest, "--json"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/cannot back up operator public\.===/);
  expect(r.json).toMatchObject({ ok: false, error: { tag: "SchemaCaptureFailed" } });
  const list = await runCli(["list", "--from", dest, "--json"]);
  expect(list.json!.backups).toEqual([]);
});

it("refuses a backup when an extension's configuration table holds user rows, and allows it when it holds none", async () => {
  // A tiny extension with a configuration table (pg_extension_config_dump), installed into the
  // share directory the PostgreSQL 15 server runs from (as root, possibly a linked copy) for this test.
  const pg15 = cluster(15);
  const [shareDir] = await pg15.query<{ setting: string }>("postgres", "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'");
  const extDir = join(shareDir!.setting, "extension");
  const files = [join(extDir, "cobalt_cfg.control"), join(extDir, "cobalt_cfg--1.0.sql")];
  writeFileSync(files[0]!, "default_version = '1.0'\nrelocatable = false\nschema = public\n");
  writeFileSync(files[1]!, "CREATE TABLE cobalt_cfg_settings (k text PRIMARY KEY, builtin boolean NOT NULL DEFAULT false);\n" +
    "INSERT INTO cobalt_cfg_settings VALUES ('shipped', true);\n" +
    "SELECT pg_catalog.pg_extension_config_dump('cobalt_cfg_settings', 'WHERE NOT builtin');\n");
  try {
    const db = await pg15.newDatabase("extcfg");
    await pg15.query(db, "CREATE EXTENSION cobalt_cfg");
    const dest = tempStore();
    const clean = await runCli(["backup", "--source", pg15.url(db), "--dest", dest, "--json"]);
    expect(clean.code, clean.stderr).toBe(0);
    await pg15.query(db, "INSERT INTO cobalt_cfg_settings VALUES ('mine', false)");
    const r = await runCli(["backup", "--source", pg15.url(db), "--dest", dest, "--json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/configuration table of extension cobalt_cfg: public\.cobalt_cfg_settings/);
  } finally {
    files.forEach((f) => rmSync(f, { force: true }));
  }
});
