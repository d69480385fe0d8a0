/**
 * The fidelity oracle of design.md: pg_dump's schema text, and digests of every table's rows,
 * every sequence's state, every materialized view's populated flag and every large object.
 */
import { execFileSync } from "node:child_process";
import pg from "pg";

/**
 * `pg_dump --schema-only --no-owner --no-privileges` (design.md's oracle), or with owners and
 * privileges too, without the lines that differ by run.
 */
export function pgDumpSchema(url: string, opts: { ownersAndPrivileges?: boolean } = {}): string {
  const flags = opts.ownersAndPrivileges ? [] : ["--no-owner", "--no-privileges"];
  const out = execFileSync("pg_dump", ["--schema-only", ...flags, "-d", url], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return out
    .split("\n")
    .filter((l) => !/^\\(un)?restrict /.test(l) && !/^-- Dumped (from|by) /.test(l))
    .join("\n");
}

export interface DataDigest {
  tables: Record<string, string>;
  sequences: Record<string, string>;
  matviews: Record<string, boolean>;
  largeObjects: Record<string, string>;
}

/** Order-independent digests of everything the data path must carry. */
export async function dataDigest(url: string): Promise<DataDigest> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET search_path = ''; SET extra_float_digits = 3; SET TimeZone = 'UTC'");
    const q = async <T,>(sql: string) => (await client.query(sql)).rows as T[];
    const tables = await q<{ n: string }>(`
      SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS n
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY 1`);
    const out: DataDigest = { tables: {}, sequences: {}, matviews: {}, largeObjects: {} };
    for (const { n } of tables) {
      const [r] = await q<{ d: string }>(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') AS d FROM ${n} t`);
      out.tables[n] = r!.d;
    }
    const seqs = await q<{ n: string }>(`SELECT pg_catalog.quote_ident(schemaname) || '.' || pg_catalog.quote_ident(sequencename) AS n FROM pg_sequences ORDER BY 1`);
    for (const { n } of seqs) {
      const [r] = await q<{ d: string }>(`SELECT last_value || '/' || is_called AS d FROM ${n}`);
      out.sequences[n] = r!.d;
    }
    for (const r of await q<{ n: string; p: boolean }>(`SELECT schemaname || '.' || matviewname AS n, ispopulated AS p FROM pg_matviews`)) out.matviews[r.n] = r.p;
    for (const r of await q<{ oid: string; d: string }>(`SELECT oid::text, md5(lo_get(oid)) AS d FROM pg_largeobject_metadata ORDER BY oid`)) out.largeObjects[r.oid] = r.d;
    return out;
  } finally {
    await client.end();
  }
}
