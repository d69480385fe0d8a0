import pg from "pg";
import type { PgConnect } from "@cobalt-backup/core";

export interface PostgresTarget {
  connect: PgConnect;
  /** Host, port, database and user, for the manifest and messages; never the password. */
  host: string;
  port: number;
  database: string;
  user: string;
  /** The URL with its password masked. */
  display: string;
}

/** Thrown for input the user must fix; the CLI prints it as one line and exits 2. */
export class UsageError extends Error {
  readonly _tag = "UsageError";
}

/** Parses a `postgres://` URL into a connect port. Libpq environment variables (PGPASSWORD) still apply. */
export function postgresTarget(url: string, what: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${what} is not a URL: expected postgresql://user:password@host:port/database`);
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new UsageError(`${what} must be a postgresql:// URL, got ${u.protocol}//...`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || process.env.PGDATABASE || "";
  if (!database) throw new UsageError(`${what} names no database: add /<database> at the end of the URL`);
  const display = u.password ? url.replace(`:${u.password}@`, ":***@") : url;
  return {
    connect: async () => {
      const client = new pg.Client({ connectionString: url, application_name: "cobalt-backup", connectionTimeoutMillis: 15_000 });
      // A server that closes the connection mid-COPY must fail the stream, not crash the process.
      client.on("error", () => {});
      await client.connect();
      return client;
    },
    host: decodeURIComponent(u.hostname) || process.env.PGHOST || "localhost",
    port: Number(u.port || process.env.PGPORT || 5432),
    database,
    user: decodeURIComponent(u.username) || process.env.PGUSER || "postgres",
    display,
  };
}
