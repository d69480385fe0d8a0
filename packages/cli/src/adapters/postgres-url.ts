import pg from "pg";
import type { PgConnect } from "@cobalt-backup/core";
import { UsageError } from "../usage-error.js";
import { ConnectionStringError, connectWith, parseConnection, toEnv, toUri, type ConnectionSettings, type TlsMemory } from "./connection-string.js";

export interface PostgresTarget {
  connect: PgConnect;
  /** Host (or socket directory), port, database and user, for the manifest and messages; never the password. */
  host: string;
  port: number;
  database: string;
  user: string;
  /** The connection as a URI without its password, for messages. */
  display: string;
  /** The same server and credentials, another database (verify's scratch database). */
  withDatabase(database: string): PostgresTarget;
  /** A URI with the password, and the PG* variables, for a hook command; never printed. */
  secretUrl(): string;
  env(): Record<string, string>;
}

const FORMS = "expected a connection string as psql takes it: postgresql://user@host:5432/db, postgresql://user@/db?host=/var/run/postgresql, host=... dbname=... user=..., or a database name (PGHOST, PGPORT, PGUSER, PGPASSWORD and ~/.pgpass apply)";

/**
 * A database given as psql's `-d` takes it (see connection-string.ts): a URI, key=value pairs
 * or a database name, completed from the PG* variables, the password from the password file.
 */
export function postgresTarget(value: string, what: string): PostgresTarget {
  let settings: ConnectionSettings;
  try {
    settings = parseConnection(value);
  } catch (e) {
    if (e instanceof ConnectionStringError) throw new UsageError(`${what} is not a usable connection string (${e.message}): ${FORMS}`);
    throw e;
  }
  return targetOf(settings);
}

function targetOf(settings: ConnectionSettings, tls: TlsMemory = new Map()): PostgresTarget {
  const first = settings.endpoints[0]!;
  return {
    connect: () => connectWith(pg.Client, settings, tls),
    host: first.host,
    port: first.port,
    database: settings.database,
    user: settings.user,
    display: toUri(settings),
    withDatabase: (database) => targetOf({ ...settings, database }, tls),
    secretUrl: () => toUri(settings, { includePassword: true }),
    env: () => toEnv(settings),
  };
}
