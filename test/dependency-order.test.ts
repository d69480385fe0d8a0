/**
 * Issue 9: every object is created after what it depends on. The dependency-order corpus (views
 * and materialized views on primary keys, SQL-standard bodies, every loop pg_dump_sort.c
 * repairs, NOT VALID constraints, comments on post-data objects, state that differs on children)
 * and Cobalt's real schema round-trip by the design.md oracle, through restore and export-sql;
 * what cannot be ordered is refused at backup time; a schema of 20,000 objects is handled.
 */
import { execFileSync } from "node:child_process";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { applySessionSettings, captureSchema } from "@cobalt-backup/core";
import { CLI, runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { backup, inventory, restore, tempStore } from "./support/roundtrip.ts";

describe("PostgreSQL 15", () => {
  it("the dependency-order corpus round-trips by the oracle through restore and through export-sql | psql", async () => {
    const pg15 = cluster(15);
    const source = await pg15.newDatabase("deps", "dependency-order_tpl");
    const dest = tempStore();
    const id = await backup(pg15.url(source), dest);

    // The repairs pg_dump makes are visible in the backup's schema.
    const schema = await schemaItems(dest, id);
    const where = (itemId: string) => schema.find((i) => i.id === itemId)?.section;
    expect(where("view dep.shop_order_totals")).toBe("pre-data"); // a placeholder with its columns
    expect(where("view definition dep.shop_order_totals")).toBe("post-data"); // the real query, after the key
    expect(where("view definition dep.big_orders")).toBeUndefined(); // a view on it needs no split
    expect(where("materialized view dep.user_order_counts")).toBe("post-data");
    expect(where("function dep.orders_per_user()")).toBe("post-data");
    expect(where("view definition dep.pairs")).toBe("post-data");
    expect(where("check constraint dep.parcel.parcel_sane")).toBe("post-data");
    expect(where("domain constraint dep.sku.sku_format")).toBe("post-data");
    expect(where("domain constraint dep.nonneg.nonneg_check")).toBe("post-data");
    expect(schema.filter((i) => i.id.startsWith("check constraint dep.events")).map((i) => i.id)).toEqual(["check constraint dep.events.events_id_positive"]);
    const position = (itemId: string) => schema.findIndex((i) => i.id === itemId);
    expect(position("view definition dep.shop_order_totals")).toBeGreaterThan(position("constraint dep.shop_order.shop_order_pkey"));
    expect(position("index dep.user_order_counts_id")).toBeGreaterThan(position("materialized view dep.user_order_counts"));

    const restored = await pg15.newDatabase("deps_restored");
    await restore(dest, id, pg15.url(restored));
    expect(pgDumpSchema(pg15.url(restored))).toEqual(pgDumpSchema(pg15.url(source)));
    const [src, dst] = [await dataDigest(pg15.url(source)), await dataDigest(pg15.url(restored))];
    expect(src.matviews).toEqual({ "dep.user_order_counts": true, "dep.outer_count": true, "dep.inner_ids": true, "dep.outer_via_function": true });
    expect(dst).toEqual(src);
    expect(await inventory(pg15.url(restored))).toEqual(await inventory(pg15.url(source)));

    const exported = await pg15.newDatabase("deps_exported");
    execFileSync("sh", ["-c", `"${process.execPath}" "${CLI}" export-sql --from "${dest}" --backup "${id}" | psql -X -q -v ON_ERROR_STOP=1 -d "${pg15.url(exported)}" -f - >/dev/null`], {
      env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
    });
    expect(pgDumpSchema(pg15.url(exported))).toEqual(pgDumpSchema(pg15.url(source)));
    expect(await dataDigest(pg15.url(exported))).toEqual(src);

    const verify = await runCli(["verify", "--from", dest, "--backup", id, "--target", pg15.url(), "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it("Cobalt's schema (deferrable foreign keys in cycles, a trigram index on \"to\") round-trips by the oracle and verifies", async () => {
    const pg15 = cluster(15);
    const source = await pg15.newDatabase("cobalt", "cobalt_tpl");
    const dest = tempStore();
    const id = await backup(pg15.url(source), dest);
    const restored = await pg15.newDatabase("cobalt_restored");
    await restore(dest, id, pg15.url(restored));
    expect(pgDumpSchema(pg15.url(restored), { ownersAndPrivileges: true })).toEqual(pgDumpSchema(pg15.url(source), { ownersAndPrivileges: true }));
    const src = await dataDigest(pg15.url(source));
    expect(Object.keys(src.tables)).toHaveLength(133);
    expect(await dataDigest(pg15.url(restored))).toEqual(src);
    const verify = await runCli(["verify", "--from", dest, "--backup", id, "--target", pg15.url(), "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.json!.report.ok).toBe(true);
  });

  it("refuses at backup time what no order can satisfy, naming the loop's members only, and stores nothing", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("loop");
    // A column default calls a function whose body needs the primary key (it groups by it): the
    // default must exist before the data, the key is built after it.
    await pg15.query(db, `CREATE TABLE account (id int PRIMARY KEY, owner int NOT NULL, seq int);
      CREATE FUNCTION owners() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM (SELECT a.id, a.owner FROM account a GROUP BY a.id) x; END;
      ALTER TABLE account ALTER COLUMN seq SET DEFAULT owners();
      CREATE INDEX bystander ON account (owner)`);
    const dest = tempStore();
    const r = await runCli(["backup", "--source", pg15.url(db), "--dest", dest, "--json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot order these objects/);
    expect(r.stderr).toContain("column default public.account.seq");
    expect(r.stderr).toContain("function public.owners()");
    expect(r.stderr).not.toContain("bystander"); // waiting on the loop, not part of it
    const list = await runCli(["list", "--from", dest, "--json"]);
    expect(list.json!.backups).toEqual([]);
  });

  it("captures, backs up and restores a schema of 20,000 objects", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("wide");
    // 1,200 x (table, primary key, index, view, 13 functions). Tables and views are locked while
    // they are read (pg_dump too), so this stays inside the test server's lock table.
    const tables = 1200;
    for (let from = 1; from <= tables; from += 200) {
      await pg15.query(db, `DO $$ BEGIN
        FOR i IN ${from}..${Math.min(tables, from + 199)} LOOP
          EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, a int, b text)', i);
          EXECUTE format('CREATE INDEX t%s_a ON t%s (a)', i, i);
          EXECUTE format('CREATE FUNCTION f%s_0(int) RETURNS int LANGUAGE sql IMMUTABLE AS ''SELECT $1''', i);
          FOR j IN 1..12 LOOP
            EXECUTE format('CREATE FUNCTION f%s_%s(int) RETURNS int LANGUAGE sql IMMUTABLE AS ''SELECT f%s_%s($1) + 1''', i, j, i, j - 1);
          END LOOP;
          IF i % 2 = 0 THEN -- half of them need the primary key: placeholders and definitions
            EXECUTE format('CREATE VIEW v%s AS SELECT t.id, t.b, count(*) AS n FROM t%s t GROUP BY t.id', i, i);
          ELSE
            EXECUTE format('CREATE VIEW v%s AS SELECT id, f%s_12(a) AS f FROM t%s', i, i, i);
          END IF;
        END LOOP;
      END $$`);
    }
    await pg15.query(db, "INSERT INTO t1 SELECT g, g, 'x' FROM generate_series(1, 100) g");
    const client = new pg.Client({ connectionString: pg15.url(db) });
    await client.connect();
    await applySessionSettings(client);
    const t0 = performance.now();
    const captured = await captureSchema(client);
    const seconds = (performance.now() - t0) / 1000;
    await client.end();
    expect(captured.isOk(), captured.isErr() ? captured.error.message : "").toBe(true);
    const items = captured._unsafeUnwrap().items.filter((i) => i.section !== "privileges");
    expect(items.filter((i) => i.kind !== "view definition").length).toBeGreaterThanOrEqual(20_000);
    console.info(`captured ${items.length} items in ${seconds.toFixed(1)} s`);

    const dest = tempStore();
    const id = await backup(pg15.url(db), dest, 2);
    const restored = await pg15.newDatabase("wide_restored");
    await restore(dest, id, pg15.url(restored), 2);
    const count = `SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) || '/' || (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace) AS n`;
    expect(await pg15.query(restored, count)).toEqual(await pg15.query(db, count));
    expect(await dataDigest(pg15.url(restored))).toEqual(await dataDigest(pg15.url(db)));
  });
});

async function schemaItems(dest: string, id: string): Promise<{ id: string; section: string }[]> {
  const { fileURLToPath } = await import("node:url");
  const out = execFileSync("zstd", ["-dc", `${fileURLToPath(dest)}/${id}/schema.json.zst`], { maxBuffer: 64 * 1024 * 1024 });
  return (JSON.parse(out.toString()) as { items: { id: string; section: string }[] }).items;
}
