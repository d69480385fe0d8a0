import type { Queryable } from "../pg/query-pool.js";
import { USER_NAMESPACE, commentSql, ident, key, literal, notExtensionMember, qname, rows } from "./catalog.js";
import { POST_DATA_PHASE, type DdlItem, type DdlNode } from "./model.js";

const pre = (item: Omit<DdlItem, "section" | "phase">): DdlItem => ({ ...item, section: "pre-data", phase: 0 });

/** The comment a fresh database's `public` schema carries; only a different one is captured. */
const DEFAULT_PUBLIC_COMMENTS = new Set(["standard public schema"]);

export async function captureSchemas(client: Queryable, versionNum: number): Promise<DdlItem[]> {
  const list = await rows<{ oid: number; nspname: string; comment: string | null; owner: string; default_owner: boolean }>(
    client,
    `SELECT n.oid, n.nspname, pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment,
            pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
            ${versionNum >= 150000 ? "n.nspowner = 'pg_database_owner'::regrole" : "n.nspowner = 10"} AS default_owner
       FROM pg_catalog.pg_namespace n
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_namespace", "n.oid")}
      ORDER BY n.nspname`,
  );
  const items: DdlItem[] = [];
  if (!list.some((s) => s.nspname === "public")) {
    // A fresh database has `public`; a source without it must not gain one.
    items.push(pre({ id: "schema public", kind: "schema", name: "public", sql: "DROP SCHEMA IF EXISTS public;", catalogKeys: [] }));
  }
  for (const s of list) {
    if (s.nspname === "public") {
      // `public` exists in every new database: only how it differs from the default is captured.
      const sql = [
        s.default_owner ? "" : ownerIfRoleExists("SCHEMA public", s.owner),
        s.comment != null && DEFAULT_PUBLIC_COMMENTS.has(s.comment) ? "" : s.comment == null ? "COMMENT ON SCHEMA public IS NULL;" : commentSql("SCHEMA public", s.comment).trim(),
      ].filter(Boolean).join("\n");
      items.push(pre({ id: "schema public", kind: "schema", name: "public", sql, catalogKeys: [key("pg_namespace", s.oid)] }));
      continue;
    }
    items.push(
      pre({
        id: `schema ${s.nspname}`,
        kind: "schema",
        name: s.nspname,
        sql: `CREATE SCHEMA ${ident(s.nspname)};${commentSql(`SCHEMA ${ident(s.nspname)}`, s.comment)}`,
        catalogKeys: [key("pg_namespace", s.oid)],
      }),
    );
  }
  return items;
}

/** Ownership is kept where the role exists on the target; a restore elsewhere must not fail on it. */
const ownerIfRoleExists = (what: string, role: string): string =>
  `DO $cobalt$ BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${literal(role)}) THEN ALTER ${what} OWNER TO ${ident(role)}; END IF; END $cobalt$;`;

export async function captureExtensions(client: Queryable): Promise<DdlItem[]> {
  const list = await rows<{ oid: number; extname: string; nspname: string; extversion: string; comment: string | null }>(
    client,
    `SELECT x.oid, x.extname, n.nspname, x.extversion, pg_catalog.obj_description(x.oid, 'pg_extension') AS comment
       FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace
      ORDER BY x.extname`,
  );
  return list.map((x) =>
    pre({
      id: `extension ${x.extname}`,
      kind: "extension",
      name: x.extname,
      // IF NOT EXISTS: plpgsql and friends are already in every new database.
      sql:
        `CREATE EXTENSION IF NOT EXISTS ${ident(x.extname)} WITH SCHEMA ${ident(x.nspname)} VERSION ${literal(x.extversion)};` +
        extensionComment(x.extname, x.comment),
      catalogKeys: [key("pg_extension", x.oid)],
    }),
  );
}

/**
 * An extension's comment normally comes from its control file. Setting it needs ownership, which
 * a non-superuser restoring next to a preinstalled extension (plpgsql, RDS's) lacks: only a
 * comment that differs is set.
 */
function extensionComment(name: string, comment: string | null): string {
  const value = comment == null ? "NULL" : literal(comment);
  return `\nDO $cobalt$ BEGIN IF pg_catalog.obj_description((SELECT oid FROM pg_catalog.pg_extension WHERE extname = ${literal(name)}), 'pg_extension') IS DISTINCT FROM ${value} THEN COMMENT ON EXTENSION ${ident(name)} IS ${value}; END IF; END $cobalt$;`;
}

export async function captureCollations(client: Queryable, versionNum: number): Promise<DdlItem[]> {
  const localeCol = versionNum >= 170000 ? "c.colllocale" : versionNum >= 150000 ? "c.colliculocale" : "NULL::text";
  const rulesCol = versionNum >= 160000 ? "c.collicurules" : "NULL::text";
  const list = await rows<{
    oid: number;
    nspname: string;
    collname: string;
    collprovider: string;
    collisdeterministic: boolean;
    collcollate: string | null;
    collctype: string | null;
    locale: string | null;
    rules: string | null;
    comment: string | null;
  }>(
    client,
    `SELECT c.oid, n.nspname, c.collname, c.collprovider, c.collisdeterministic, c.collcollate, c.collctype,
            ${localeCol} AS locale, ${rulesCol} AS rules, pg_catalog.obj_description(c.oid, 'pg_collation') AS comment
       FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_collation", "c.oid")}
      ORDER BY n.nspname, c.collname`,
  );
  return list.map((c) => {
    const provider = c.collprovider === "i" ? "icu" : c.collprovider === "b" ? "builtin" : "libc";
    const opts = [`provider = ${provider}`];
    if (c.collprovider === "i" || c.collprovider === "b") opts.push(`locale = ${literal(c.locale ?? c.collcollate ?? "")}`);
    else if (c.collcollate === c.collctype) opts.push(`locale = ${literal(c.collcollate ?? "")}`);
    else opts.push(`lc_collate = ${literal(c.collcollate ?? "")}`, `lc_ctype = ${literal(c.collctype ?? "")}`);
    if (c.rules != null) opts.push(`rules = ${literal(c.rules)}`);
    if (!c.collisdeterministic) opts.push("deterministic = false");
    const name = qname(c.nspname, c.collname);
    return pre({
      id: `collation ${c.nspname}.${c.collname}`,
      kind: "collation",
      name: `${c.nspname}.${c.collname}`,
      sql: `CREATE COLLATION ${name} (${opts.join(", ")});${commentSql(`COLLATION ${name}`, c.comment)}`,
      catalogKeys: [key("pg_collation", c.oid)],
    });
  });
}

interface TypeRow {
  oid: number;
  typarray: number;
  nspname: string;
  typname: string;
  typtype: string;
  typrelid: number;
  comment: string | null;
}

/** Enums, composite types, domains and range types (base and shell types are refused elsewhere). */
export async function captureTypes(client: Queryable, versionNum: number): Promise<DdlNode[]> {
  const types = await rows<TypeRow>(
    client,
    `SELECT t.oid, t.typarray, n.nspname, t.typname, t.typtype, t.typrelid,
            pg_catalog.obj_description(t.oid, 'pg_type') AS comment
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_type", "t.oid")}
        AND (t.typtype IN ('e', 'd', 'r')
             OR (t.typtype = 'c' AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c'))
      ORDER BY t.oid`,
  );
  // A type's own queries run side by side with the other types' on a pool; the order stays the list's.
  const perType = await Promise.all(types.map(async (t): Promise<DdlNode[]> => {
    const name = qname(t.nspname, t.typname);
    const keys = [key("pg_type", t.oid), key("pg_type", t.typarray)];
    let sql: string;
    if (t.typtype === "e") {
      const labels = await rows<{ enumlabel: string }>(
        client,
        `SELECT enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder`,
        [t.oid],
      );
      sql = `CREATE TYPE ${name} AS ENUM (${labels.map((l) => literal(l.enumlabel)).join(", ")});`;
    } else if (t.typtype === "c") {
      keys.push(key("pg_class", t.typrelid));
      const attrs = await rows<{ attname: string; type: string; coll: string | null; comment: string | null }>(
        client,
        `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
                CASE WHEN a.attcollation <> t.typcollation THEN (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
                      FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS coll,
                pg_catalog.col_description(a.attrelid, a.attnum) AS comment
           FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [t.typrelid],
      );
      sql =
        `CREATE TYPE ${name} AS (${attrs.map((a) => `\n    ${ident(a.attname)} ${a.type}${a.coll ? ` COLLATE ${a.coll}` : ""}`).join(",")}\n);` +
        attrs.map((a) => commentSql(`COLUMN ${name}.${ident(a.attname)}`, a.comment)).join("");
    } else if (t.typtype === "d") {
      return domainNodes(client, t, name, keys);
    } else {
      sql = await rangeSql(client, t.oid, name, versionNum);
      const mr = versionNum >= 140000
        ? await rows<{ oid: number }>(client, `SELECT rngmultitypid AS oid FROM pg_catalog.pg_range WHERE rngtypid = $1`, [t.oid])
        : [];
      keys.push(...mr.map((m) => key("pg_type", m.oid)));
    }
    return [{ item: pre({ id: `type ${t.nspname}.${t.typname}`, kind: "type", name: `${t.nspname}.${t.typname}`, sql: sql + commentSql(`TYPE ${name}`, t.comment), catalogKeys: keys }) }];
  }));
  return perType.flat();
}

/**
 * A domain with its validated CHECK constraints as parts (split off after the data when one
 * closes a loop, e.g. it calls a function that takes the domain), and its NOT VALID ones as
 * post-data items: data that violates them must load first, and they are never validated.
 */
async function domainNodes(client: Queryable, t: TypeRow, name: string, keys: string[]): Promise<DdlNode[]> {
  const display = `${t.nspname}.${t.typname}`;
  const [d] = await rows<{ base: string; coll: string | null; def: string | null; notnull: boolean }>(
    client,
    `SELECT pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base,
            CASE WHEN t.typcollation <> b.typcollation THEN (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
                  FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) END AS coll,
            t.typdefault AS def, t.typnotnull AS notnull
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype WHERE t.oid = $1`,
    [t.oid],
  );
  if (!d) throw new Error(`domain ${name} vanished during capture`);
  const cons = await rows<{ oid: number; conname: string; def: string; convalidated: boolean; comment: string | null }>(
    client,
    `SELECT oid, conname, pg_catalog.pg_get_constraintdef(oid) AS def, convalidated,
            pg_catalog.obj_description(oid, 'pg_constraint') AS comment
       FROM pg_catalog.pg_constraint WHERE contypid = $1 AND contype = 'c' ORDER BY conname`,
    [t.oid],
  );
  const conComment = (c: (typeof cons)[number]) => commentSql(`CONSTRAINT ${ident(c.conname)} ON DOMAIN ${name}`, c.comment);
  const separate = (c: (typeof cons)[number]): DdlItem => ({
    id: `domain constraint ${display}.${c.conname}`,
    kind: "domain constraint",
    name: `${display}.${c.conname}`,
    section: "post-data",
    phase: POST_DATA_PHASE.foreignKeys,
    sql: `ALTER DOMAIN ${name} ADD CONSTRAINT ${ident(c.conname)} ${c.def};${conComment(c)}`,
    catalogKeys: [key("pg_constraint", c.oid)],
  });
  const valid = cons.filter((c) => c.convalidated);
  const render = (split: ReadonlySet<string>) => {
    const inline = valid.filter((c) => !split.has(separate(c).id));
    let sql = `CREATE DOMAIN ${name} AS ${d.base}`;
    if (d.coll) sql += ` COLLATE ${d.coll}`;
    if (d.def != null) sql += ` DEFAULT ${d.def}`;
    if (d.notnull) sql += " NOT NULL";
    for (const c of inline) sql += `\n    CONSTRAINT ${ident(c.conname)} ${c.def}`;
    return `${sql};${inline.map(conComment).join("")}${commentSql(`DOMAIN ${name}`, t.comment)}`;
  };
  return [
    { item: pre({ id: `domain ${display}`, kind: "domain", name: display, sql: render(new Set()), catalogKeys: keys }), parts: valid.map(separate), renderWithout: render },
    ...cons.filter((c) => !c.convalidated).map((c) => ({ item: separate(c) })),
  ];
}

async function rangeSql(client: Queryable, oid: number, name: string, versionNum: number): Promise<string> {
  const [r] = await rows<{
    subtype: string;
    opc: string | null;
    coll: string | null;
    canonical: string | null;
    diff: string | null;
    multirange: string | null;
  }>(
    client,
    `SELECT pg_catalog.format_type(r.rngsubtype, NULL) AS subtype,
            CASE WHEN NOT oc.opcdefault THEN pg_catalog.quote_ident(ocn.nspname) || '.' || pg_catalog.quote_ident(oc.opcname) END AS opc,
            CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN
              (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
                 FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = r.rngcollation) END AS coll,
            NULLIF(r.rngcanonical, 0)::regproc::text AS canonical,
            NULLIF(r.rngsubdiff, 0)::regproc::text AS diff,
            ${versionNum >= 140000 ? "pg_catalog.format_type(r.rngmultitypid, NULL)" : "NULL::text"} AS multirange
       FROM pg_catalog.pg_range r
       JOIN pg_catalog.pg_type st ON st.oid = r.rngsubtype
       JOIN pg_catalog.pg_opclass oc ON oc.oid = r.rngsubopc
       JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
      WHERE r.rngtypid = $1`,
    [oid],
  );
  if (!r) throw new Error(`range type ${name} vanished during capture`);
  const opts = [`subtype = ${r.subtype}`];
  if (r.multirange) opts.push(`multirange_type_name = ${r.multirange}`);
  if (r.opc) opts.push(`subtype_opclass = ${r.opc}`);
  if (r.coll) opts.push(`collation = ${r.coll}`);
  if (r.canonical) opts.push(`canonical = ${r.canonical}`);
  if (r.diff) opts.push(`subtype_diff = ${r.diff}`);
  return `CREATE TYPE ${name} AS RANGE (\n    ${opts.join(",\n    ")}\n);`;
}
