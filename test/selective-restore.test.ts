/**
 * Issue 14 acceptance 2: selective restore. One pagila table into an empty database comes back
 * as `pg_dump -s -t` shows it in the source (foreign keys to tables left out skipped and
 * reported), with its rows and nothing else; `--data-only` loads exactly its rows into a
 * database holding the empty schema; `--schema` does the same for a schema of the edge corpus;
 * `export-sql` takes the same selection; `--clean` replaces just the selected table.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { psqlFile } from "./support/corpus.ts";
import { dataDigest } from "./support/oracle.ts";
import { backup, tempStore } from "./support/roundtrip.ts";

const pgc = cluster(15);
const dir = mkdtempSync(join(tmpdir(), "cobalt-selective-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `pg_dump -s` of some objects as a list of statements (comments and blank lines dropped). */
function statements(url: string, flags: string[]): string[] {
  const out = execFileSync("pg_dump", ["--schema-only", ...flags, "-d", url], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("--") && !/^\\(un)?restrict /.test(l))
    .join("\n")
    .split(/;\n/)
    .map((s) => s.trim().replace(/;$/, ""))
    .filter(Boolean);
}
const tablesOf = async (db: string) =>
  (await pgc.query<{ t: string }>(db, `SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)).map((r) => r.t);
const restore = (dest: string, id: string, db: string, ...flags: string[]) => runCli(["restore", "--from", dest, "--backup", id, "--target", pgc.url(db), "--jobs", "2", ...flags, "--json"]);

describe("pagila, one table", () => {
  let source: string;
  let dest: string;
  let id: string;
  beforeAll(async () => {
    source = await pgc.newDatabase("sel_pagila", "pagila_tpl");
    dest = tempStore();
    id = await backup(pgc.url(source), dest, 2);
  });

  it("restore --table public.rental into an empty database: the table as pg_dump -t shows it, foreign keys to absent tables skipped and reported, its rows, nothing else", async () => {
    const target = await pgc.newDatabase("sel_rental");
    const r = await restore(dest, id, target, "--table", "public.rental");
    expect(r.code, r.stderr).toBe(0);
    const fks = ["rental_customer_id_fkey", "rental_inventory_id_fkey", "rental_staff_id_fkey"];
    expect(r.json!.selection.skipped.map((s: { object: string }) => s.object).sort()).toEqual(fks.map((f) => `fk constraint public.rental.${f}`));
    expect(r.json!.selection.dependencies).toEqual(expect.arrayContaining(["sequence public.rental_rental_id_seq", "function public.last_updated()"]));

    const src = statements(pgc.url(source), ["-t", "public.rental"]);
    const dst = statements(pgc.url(target), ["-t", "public.rental"]);
    expect(src.filter((s) => s.includes("FOREIGN KEY"))).toHaveLength(3);
    expect(dst).toEqual(src.filter((s) => !s.includes("FOREIGN KEY")));

    expect(await tablesOf(target)).toEqual(["public.rental"]);
    const [a, b] = [await dataDigest(pgc.url(source)), await dataDigest(pgc.url(target))];
    expect(b.tables['public.rental']).toEqual(a.tables['public.rental']);
    expect(b.sequences["public.rental_rental_id_seq"]).toEqual(a.sequences["public.rental_rental_id_seq"]);
    expect(r.json!.timings).toEqual(expect.objectContaining({ dataMs: expect.any(Number), postDataMs: expect.any(Number), analyzeMs: expect.any(Number) }));
    expect(r.json!.analyzed).toBe(1);

    // The table is there now: refused, named; --clean replaces just it.
    const again = await restore(dest, id, target, "--table", "public.rental");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("table public.rental");
    const clean = await restore(dest, id, target, "--table", "public.rental", "--clean");
    expect(clean.code, clean.stderr).toBe(0);
    expect((await dataDigest(pgc.url(target))).tables["public.rental"]).toEqual(a.tables["public.rental"]);
  });

  it("restore --data-only --table public.rental into a database holding the empty schema loads exactly those rows", async () => {
    const target = await pgc.newDatabase("sel_rental_data");
    const schema = await restore(dest, id, target, "--schema-only");
    expect(schema.code, schema.stderr).toBe(0);
    expect((await dataDigest(pgc.url(target))).tables['public.rental']).toBe("0:");

    const r = await restore(dest, id, target, "--data-only", "--table", "public.rental");
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.tables).toBe(1);
    const [a, b] = [await dataDigest(pgc.url(source)), await dataDigest(pgc.url(target))];
    expect(b.tables['public.rental']).toEqual(a.tables['public.rental']);
    expect(Object.entries(b.tables).filter(([t, d]) => t !== "public.rental" && d !== "0:")).toEqual([]);
    expect(b.sequences["public.rental_rental_id_seq"]).toEqual(a.sequences["public.rental_rental_id_seq"]);
    // The references to customer, inventory and staff (empty here) were not checked, and say so.
    expect(r.json!.selection.uncheckedForeignKeys).toEqual(["rental_customer_id_fkey", "rental_inventory_id_fkey", "rental_staff_id_fkey"].map((f) => `fk constraint public.rental.${f}`));
  });

  it("restore --data-only by a role that is no superuser: refused before any row where it may not switch triggers off; as the owner, referenced tables load first", async () => {
    const target = await pgc.newDatabase("sel_data_owner", "pagila_tpl");
    await pgc.query(target, `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restorer') THEN CREATE ROLE restorer LOGIN PASSWORD 'restorer-pw'; END IF; END $$;
      GRANT USAGE ON SCHEMA public TO restorer; GRANT ALL ON ALL TABLES IN SCHEMA public TO restorer; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO restorer;
      TRUNCATE public.actor CASCADE`);
    const url = new URL(pgc.url(target));
    url.username = "restorer";
    url.password = "restorer-pw";
    // film_actor references actor and is the larger: taken first, as largest-first would, its rows
    // would find no actor.
    const load = () => runCli(["restore", "--from", dest, "--backup", id, "--target", url.href, "--jobs", "1", "--data-only", "--table", "public.film_actor", "--table", "public.actor", "--json"]);

    // Allowed to insert, not to switch off actor's last_updated trigger (which would rewrite last_update).
    const refused = await load();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("trigger public.actor.last_updated");
    expect(refused.stderr).toContain("restore as the tables' owner");
    expect((await dataDigest(pgc.url(target))).tables["public.actor"]).toBe("0:");

    await pgc.query(target, "ALTER TABLE public.actor OWNER TO restorer; ALTER TABLE public.film_actor OWNER TO restorer");
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    // No superuser: references were checked, not skipped.
    expect(r.json!.selection.uncheckedForeignKeys).toBeUndefined();
    const [a, b] = [await dataDigest(pgc.url(source)), await dataDigest(pgc.url(target))];
    expect(b.tables["public.actor"]).toEqual(a.tables["public.actor"]);
    expect(b.tables["public.film_actor"]).toEqual(a.tables["public.film_actor"]);
  });

  it("export-sql --table public.rental writes a script psql restores into an empty database: the table and its rows", async () => {
    const script = join(dir, "rental.sql");
    const r = await runCli(["export-sql", "--from", dest, "--backup", id, "--table", "public.rental", "--out", script, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.skipped).toHaveLength(3);
    const target = await pgc.newDatabase("sel_rental_sql");
    psqlFile(pgc.url(target), script);
    expect(await tablesOf(target)).toEqual(["public.rental"]);
    const [a, b] = [await dataDigest(pgc.url(source)), await dataDigest(pgc.url(target))];
    expect(b.tables['public.rental']).toEqual(a.tables['public.rental']);
    expect(statements(pgc.url(target), ["-t", "public.rental"])).toEqual(statements(pgc.url(source), ["-t", "public.rental"]).filter((s) => !s.includes("FOREIGN KEY")));
  });
});

it("edge corpus, restore --schema app into an empty database: the schema as pg_dump -n shows it, its rows, no table of another schema", async () => {
  const source = await pgc.newDatabase("sel_edge", "edge-cases_tpl");
  const dest = tempStore();
  const id = await backup(pgc.url(source), dest, 2);
  const target = await pgc.newDatabase("sel_app");
  const r = await restore(dest, id, target, "--schema", "app");
  expect(r.code, r.stderr).toBe(0);
  const skipped: string[] = r.json!.selection.skipped.map((s: { object: string }) => s.object.split(".").at(-1));
  const src = statements(pgc.url(source), ["-n", "app"]).filter((s) => !skipped.some((k) => s.includes(`ADD CONSTRAINT ${k} `)));
  expect(statements(pgc.url(target), ["-n", "app"])).toEqual(src);
  expect((await tablesOf(target)).filter((t) => !t.startsWith("app."))).toEqual([]);
  const [a, b] = [await dataDigest(pgc.url(source)), await dataDigest(pgc.url(target))];
  const app = (d: Record<string, string>) => Object.fromEntries(Object.entries(d).filter(([t]) => t.startsWith("app.")));
  expect(Object.keys(app(a.tables)).length).toBeGreaterThan(10);
  expect(app(b.tables)).toEqual(app(a.tables));
});
