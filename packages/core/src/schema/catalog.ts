import type { Queryable } from "../pg/query-pool.js";
import { literal } from "../pg/sql.js";

export { ident, literal, qname } from "../pg/sql.js";

/**
 * Catalog filters shared by every capture query. An object is the user's when it lives in a
 * non-system schema and is not a member of an extension (the extension recreates those).
 */
export const USER_NAMESPACE = `
  n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

export const notExtensionMember = (catalog: string, oidExpr: string): string => `
  NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend xd
              WHERE xd.classid = '${catalog}'::regclass AND xd.objid = ${oidExpr} AND xd.deptype = 'e')`;

/** Objects another object creates itself (a range type's constructors and casts) come back with it. */
export const notInternal = (catalog: string, oidExpr: string): string => `
  NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend xi
              WHERE xi.classid = '${catalog}'::regclass AND xi.objid = ${oidExpr} AND xi.deptype = 'i')`;

export const key = (catalog: string, oid: number | string): string => `${catalog}:${oid}`;

export async function rows<T>(client: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query(sql, params)).rows as T[];
}

/** `COMMENT ON <what> IS '...'` when the catalog has a description; empty otherwise. */
export function commentSql(what: string, description: string | null | undefined): string {
  if (description == null) return "";
  return `\nCOMMENT ON ${what} IS ${literal(description)};`;
}

