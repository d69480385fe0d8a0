import { ident } from "../pg/sql.js";
import { USER_NAMESPACE } from "../schema/catalog.js";
import type { PgClient } from "../pg/session.js";


/**
 * What a database holds that a restore would collide with, as readable names (empty when the
 * database is as `CREATE DATABASE` made it). Default extensions such as plpgsql do not count.
 */
export async function describeContents(client: PgClient): Promise<string[]> {
  const r = await client.query<{ what: string }>(
    `SELECT 'schema ' || n.nspname AS what FROM pg_catalog.pg_namespace n WHERE ${USER_NAMESPACE} AND n.nspname <> 'public'
     UNION ALL SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NAMESPACE}
     UNION ALL SELECT 'routine ' || n.nspname || '.' || p.proname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_NAMESPACE}
     UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
               WHERE ${USER_NAMESPACE} AND t.typtype IN ('e', 'd', 'r', 'm', 'b', 'p') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
     UNION ALL SELECT 'extension ' || x.extname FROM pg_catalog.pg_extension x WHERE x.extname <> 'plpgsql'
     UNION ALL SELECT 'large object ' || l.oid FROM pg_catalog.pg_largeobject_metadata l
     LIMIT 20`,
  );
  return r.rows.map((x) => x.what);
}

/**
 * Drops everything a restore would recreate, keeping the `public` schema itself (its owner and
 * grants belong to the database, not to the backup).
 */
export async function cleanDatabase(client: PgClient): Promise<void> {
  await client.query("BEGIN");
  const schemas = await client.query<{ nspname: string }>(
    `SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE ${USER_NAMESPACE} AND n.nspname <> 'public'`,
  );
  const extensions = await client.query<{ extname: string }>(`SELECT extname FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'`);
  for (const x of extensions.rows) await client.query(`DROP EXTENSION IF EXISTS ${ident(x.extname)} CASCADE`);
  for (const s of schemas.rows) await client.query(`DROP SCHEMA IF EXISTS ${ident(s.nspname)} CASCADE`);
  const drops = await client.query<{ sql: string }>(
    `SELECT 'DROP ' || CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                                     WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END
            || ' IF EXISTS public.' || pg_catalog.quote_ident(c.relname) || ' CASCADE' AS sql
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND NOT c.relispartition
     UNION ALL
     SELECT CASE p.prokind WHEN 'a' THEN 'DROP AGGREGATE IF EXISTS ' ELSE 'DROP ROUTINE IF EXISTS ' END || p.oid::regprocedure::text || ' CASCADE'
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
     UNION ALL
     SELECT 'DROP TYPE IF EXISTS public.' || pg_catalog.quote_ident(t.typname) || ' CASCADE'
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'c') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c')
     UNION ALL
     SELECT 'DROP COLLATION IF EXISTS public.' || pg_catalog.quote_ident(c.collname) || ' CASCADE'
       FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace WHERE n.nspname = 'public'`,
  );
  for (const d of drops.rows) await client.query(d.sql);
  await client.query("SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata");
  await client.query("COMMIT");
}
