/** Access from a test file to the clusters global setup started. */
import { inject } from "vitest";
import type pg from "pg";
import { queryOnce } from "./pg-query.ts";
import type { Major } from "./postgres.ts";

let counter = 0;

export function cluster(major: Major) {
  const c = inject("clusters")[String(major)];
  if (!c) throw new Error(`no PostgreSQL ${major} cluster was started`);
  const url = (db = "postgres") => c.url.replace(/\/postgres$/, `/${encodeURIComponent(db)}`);
  const query = <T extends pg.QueryResultRow = pg.QueryResultRow>(db: string, sql: string, params?: unknown[]) => queryOnce<T>(url(db), sql, params);
  return {
    major,
    url,
    query,
    /** A fresh empty database, or a copy of a template (`pagila_tpl`, `chinook_tpl`). */
    async newDatabase(prefix: string, template = "template0"): Promise<string> {
      const name = `${prefix}_${process.pid}_${++counter}`;
      await query("postgres", `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      return name;
    },
  };
}
export type TestCluster = ReturnType<typeof cluster>;
