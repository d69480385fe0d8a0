import type { Queryable } from "../pg/query-pool.js";
import { USER_NAMESPACE, notExtensionMember, notInternal, rows } from "./catalog.js";
import { unsupported, type SchemaError } from "./errors.js";

/**
 * Object kinds the capture cannot reproduce yet. Each query lists user-created objects of one
 * kind (extension members excluded: the extension brings them back). The first one found stops
 * the backup with an error that names it: never a silent omission.
 */
const CHECKS: { kind: string; sql: string }[] = [
  {
    kind: "foreign table",
    sql: `SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'f' AND ${USER_NAMESPACE} AND ${notExtensionMember("pg_class", "c.oid")}`,
  },
  {
    kind: "base or shell type",
    sql: `SELECT n.nspname || '.' || t.typname AS name FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
           WHERE t.typtype IN ('b', 'p') AND t.typelem = 0 AND ${USER_NAMESPACE} AND ${notExtensionMember("pg_type", "t.oid")}`,
  },
  {
    kind: "operator",
    sql: `SELECT n.nspname || '.' || o.oprname AS name FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_operator", "o.oid")}`,
  },
  {
    kind: "operator class",
    sql: `SELECT n.nspname || '.' || o.opcname AS name FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_opclass", "o.oid")}`,
  },
  {
    kind: "operator family",
    sql: `SELECT n.nspname || '.' || o.opfname AS name FROM pg_catalog.pg_opfamily o JOIN pg_catalog.pg_namespace n ON n.oid = o.opfnamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_opfamily", "o.oid")}`,
  },
  {
    kind: "cast",
    sql: `SELECT pg_catalog.format_type(c.castsource, NULL) || ' AS ' || pg_catalog.format_type(c.casttarget, NULL) AS name
            FROM pg_catalog.pg_cast c WHERE c.oid >= 16384 AND ${notExtensionMember("pg_cast", "c.oid")}
             AND ${notInternal("pg_cast", "c.oid")}`,
  },
  {
    kind: "conversion",
    sql: `SELECT n.nspname || '.' || c.conname AS name FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_conversion", "c.oid")}`,
  },
  {
    kind: "text search configuration",
    sql: `SELECT n.nspname || '.' || c.cfgname AS name FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_ts_config", "c.oid")}`,
  },
  {
    kind: "text search dictionary",
    sql: `SELECT n.nspname || '.' || d.dictname AS name FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_ts_dict", "d.oid")}`,
  },
  {
    kind: "text search parser",
    sql: `SELECT n.nspname || '.' || p.prsname AS name FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_ts_parser", "p.oid")}`,
  },
  {
    kind: "text search template",
    sql: `SELECT n.nspname || '.' || t.tmplname AS name FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
           WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_ts_template", "t.oid")}`,
  },
  {
    kind: "foreign data wrapper",
    sql: `SELECT w.fdwname AS name FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${notExtensionMember("pg_foreign_data_wrapper", "w.oid")}`,
  },
  { kind: "foreign server", sql: `SELECT s.srvname AS name FROM pg_catalog.pg_foreign_server s` },
  { kind: "event trigger", sql: `SELECT e.evtname AS name FROM pg_catalog.pg_event_trigger e WHERE ${notExtensionMember("pg_event_trigger", "e.oid")}` },
  { kind: "publication", sql: `SELECT p.pubname AS name FROM pg_catalog.pg_publication p` },
  {
    kind: "subscription",
    sql: `SELECT s.subname AS name FROM pg_catalog.pg_subscription s
           WHERE s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
  },
  {
    kind: "procedural language",
    sql: `SELECT l.lanname AS name FROM pg_catalog.pg_language l WHERE l.oid >= 16384 AND ${notExtensionMember("pg_language", "l.oid")}`,
  },
  {
    kind: "access method",
    sql: `SELECT a.amname AS name FROM pg_catalog.pg_am a WHERE a.oid >= 16384 AND ${notExtensionMember("pg_am", "a.oid")}`,
  },
  {
    kind: "transform",
    sql: `SELECT pg_catalog.format_type(t.trftype, NULL) AS name FROM pg_catalog.pg_transform t WHERE ${notExtensionMember("pg_transform", "t.oid")}`,
  },
  {
    kind: "table with a non-default access method",
    sql: `SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_catalog.pg_am a ON a.oid = c.relam
           WHERE c.relkind IN ('r', 'm') AND a.amname <> 'heap' AND ${USER_NAMESPACE}`,
  },
];

/** Resolves to the first unsupported object found, or undefined when every object is reproducible. */
export async function findUnsupported(client: Queryable): Promise<SchemaError | undefined> {
  // Every check in one round trip; the first kind in the list wins, as it would one by one.
  const sql = CHECKS.map((check, i) => `(SELECT ${i} AS i, s.name::text AS name FROM (${check.sql} LIMIT 1) s)`).join("\nUNION ALL ");
  const [found, configRows] = await Promise.all([rows<{ i: number; name: string }>(client, `${sql}\nORDER BY i LIMIT 1`), findExtensionConfigRows(client)]);
  return found[0] ? unsupported(CHECKS[found[0].i]!.kind, found[0].name) : configRows;
}

/**
 * An extension's configuration tables (pg_extension_config_dump) may hold rows the user added,
 * which pg_dump dumps as data. They are not carried yet, so a backup refuses when any such row
 * exists (tables left as the extension made them are fine).
 */
async function findExtensionConfigRows(client: Queryable): Promise<SchemaError | undefined> {
  const configs = await rows<{ extname: string; table: string; condition: string }>(
    client,
    `SELECT x.extname, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS table,
            COALESCE(x.extcondition[i], '') AS condition
       FROM pg_catalog.pg_extension x, pg_catalog.generate_subscripts(x.extconfig, 1) AS i,
            pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE x.extconfig IS NOT NULL AND c.oid = x.extconfig[i] AND c.relkind IN ('r', 'p')`,
  );
  for (const cfg of configs) {
    const [hit] = await rows<{ found: boolean }>(client, `SELECT EXISTS (SELECT 1 FROM ${cfg.table} ${cfg.condition}) AS found`);
    if (hit?.found) return unsupported(`user rows in the configuration table of extension ${cfg.extname}:`, cfg.table);
  }
  return undefined;
}
