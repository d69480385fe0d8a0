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

/**
 * The objects a database holds, named as a backup's items are (`table public.rental`,
 * `function public.f(integer)`, `fk constraint public.a.a_b_fkey`, ...): what a selective restore
 * finds already there. Read with `search_path = ''`, as items were captured, so types in
 * signatures are qualified the same way.
 */
export async function presentObjects(client: PgClient): Promise<Set<string>> {
  const r = await client.query<{ id: string }>(
    `SELECT 'schema ' || n.nspname AS id FROM pg_catalog.pg_namespace n WHERE ${USER_NAMESPACE}
     UNION ALL SELECT 'extension ' || x.extname FROM pg_catalog.pg_extension x
     UNION ALL SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence '
                                     WHEN 'f' THEN 'foreign table ' WHEN 'i' THEN 'index ' WHEN 'I' THEN 'index ' ELSE 'table ' END
                      || n.nspname || '.' || c.relname
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE ${USER_NAMESPACE} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I')
     UNION ALL SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
                      || n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
                 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_NAMESPACE}
     UNION ALL SELECT CASE t.typtype WHEN 'd' THEN 'domain ' ELSE 'type ' END || n.nspname || '.' || t.typname
                 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE ${USER_NAMESPACE}
     UNION ALL SELECT 'collation ' || n.nspname || '.' || c.collname
                 FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace WHERE ${USER_NAMESPACE}
     UNION ALL SELECT CASE k.contype WHEN 'f' THEN 'fk constraint ' WHEN 'c' THEN 'check constraint ' ELSE 'constraint ' END
                      || n.nspname || '.' || c.relname || '.' || k.conname
                 FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NAMESPACE}
     UNION ALL SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || g.tgname
                 FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NAMESPACE} AND NOT g.tgisinternal`,
  );
  return new Set(r.rows.map((x) => x.id));
}

/**
 * Drops the objects a selective restore with `clean` replaces (tables, views, sequences, ... by
 * item id), in one transaction: just those, with what they own (indexes, constraints, triggers,
 * owned sequences), and the foreign keys of other tables into them (the restore re-adds those).
 * Anything else depending on them (a view elsewhere) makes the drop fail and the transaction
 * roll back: nothing is dropped that the restore would not bring back.
 */
export async function dropObjects(client: PgClient, ids: readonly string[]): Promise<void> {
  const KEYWORD: Record<string, string> = { table: "TABLE", view: "VIEW", "materialized view": "MATERIALIZED VIEW", sequence: "SEQUENCE", "foreign table": "FOREIGN TABLE" };
  await client.query("BEGIN");
  try {
    for (const id of ids) {
      const kind = Object.keys(KEYWORD).sort((a, b) => b.length - a.length).find((k) => id.startsWith(`${k} `));
      if (!kind) continue;
      const r = await client.query<{ oid: string }>(
        `SELECT c.oid::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname || '.' || c.relname = $1`,
        [id.slice(kind.length + 1)],
      );
      if (!r.rows[0]) continue;
      const oid = r.rows[0].oid;
      const incoming = await client.query<{ sql: string }>(
        `SELECT 'ALTER TABLE ' || k.conrelid::pg_catalog.regclass::text || ' DROP CONSTRAINT ' || pg_catalog.quote_ident(k.conname) AS sql
           FROM pg_catalog.pg_constraint k WHERE k.contype = 'f' AND k.confrelid = $1::pg_catalog.oid AND k.conrelid <> k.confrelid AND k.conparentid = 0`,
        [oid],
      );
      for (const d of incoming.rows) await client.query(d.sql);
      const name = await client.query<{ n: string }>(`SELECT $1::pg_catalog.oid::pg_catalog.regclass::text AS n`, [oid]);
      await client.query(`DROP ${KEYWORD[kind]} ${name.rows[0]!.n}`);
    }
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => {});
    throw cause;
  }
}
