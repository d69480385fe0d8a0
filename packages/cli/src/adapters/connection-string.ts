/// <reference path="../types/pgpass.d.ts" />
/**
 * libpq connection strings for node-postgres: what `psql -d` accepts, resolved the way libpq
 * resolves it, so that every command that takes a database takes the same strings as psql.
 *   - a URI: postgresql://user:pass@host:port/db?sslmode=require, host-less postgresql://user@/db,
 *     a socket directory as ?host=/var/run/postgresql or percent-encoded in the host part;
 *   - key=value pairs: host=/var/run/postgresql dbname='my db' user=app;
 *   - a bare database name.
 * What the string leaves out comes from the PG* environment variables (PGHOST, PGPORT, PGUSER,
 * PGDATABASE, PGPASSWORD, PGPASSFILE, PGSSLMODE, ...), then libpq's defaults: the Unix socket
 * in the default directory, port 5432, the operating-system user, a database named like the
 * user. A password not given is looked up, when the server asks for one, in the password file
 * (passfile=, PGPASSFILE, or ~/.pgpass) with libpq's matching rules.
 */
import { existsSync, readFileSync, statSync, createReadStream } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import connectionString, { type Configuration } from "@databases/pg-connection-string";
import pgpassHelper from "pgpass/lib/helper.js";
import type pg from "pg";

// CommonJS: the default export carries the named functions.
const { default: parseConnectionString, isConnectionURI, isKeywordValueConnectionString } = connectionString as unknown as typeof import("@databases/pg-connection-string");

/** Where libpq looks for the server's socket when no host is given (Debian's directory, then upstream's). */
export const DEFAULT_SOCKET_DIRS = ["/var/run/postgresql", "/tmp"] as const;
const DEFAULT_PORT = 5432;

type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full" | "no-verify";

/** One server to try: a host name or address, or a socket directory (an absolute path). */
export interface Endpoint {
  host: string;
  /** The address to connect to when `hostaddr` was given (then `host` names it for TLS and the password file). */
  address?: string;
  port: number;
}

/** A connection string resolved against the environment; the password is never part of messages. */
export interface ConnectionSettings {
  /** Tried in order, as libpq does with a host list. */
  endpoints: Endpoint[];
  database: string;
  user: string;
  /** Given in the string or PGPASSWORD; otherwise looked up in `passfile` when the server asks. */
  password?: string;
  passfile: string;
  sslmode: SslMode;
  ssl: { ca?: string; cert?: string; key?: string };
  applicationName: string;
  options?: string;
  connectTimeoutMs: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

const isSocketDir = (host: string): boolean => host.startsWith("/");

/** Thrown for a string that is not a connection string; the message names the problem. */
export class ConnectionStringError extends Error {}

/**
 * Parses `value` as psql's `-d` does and resolves it against `env` (the PG* variables) and
 * libpq's defaults. Throws a ConnectionStringError naming what is wrong.
 */
export function parseConnection(value: string, env: Env = process.env): ConnectionSettings {
  const trimmed = value.trim();
  if (!trimmed) throw new ConnectionStringError("it is empty");
  let config: Configuration;
  const unknown: string[] = [];
  const opts = { env, invalidOptionMode: "error" as const, unrecognisedOptionMode: (key: string) => void unknown.push(key) };
  try {
    if (isConnectionURI(trimmed)) config = parseConnectionString(encodeQuery(trimmed), opts);
    else if (isKeywordValueConnectionString(trimmed)) config = parseConnectionString(trimmed, opts);
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new ConnectionStringError(`${trimmed.split("://")[0]}:// is not a PostgreSQL connection string`);
    // Anything else is a database name, as for psql -d.
    else config = parseConnectionString(`dbname='${trimmed.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`, opts);
  } catch (e) {
    if (e instanceof ConnectionStringError) throw e;
    throw new ConnectionStringError(e instanceof Error ? e.message : String(e));
  }
  if (unknown.length) throw new ConnectionStringError(`unknown option ${unknown.join(", ")}`);
  if (config.service) throw new ConnectionStringError("service files (service=, PGSERVICE) are not supported: give host, port, dbname and user instead");

  const ports = config.port.length ? config.port : [null];
  const hostList = config.host.length ? config.host : [""];
  if (ports.length !== 1 && ports.length !== hostList.length) throw new ConnectionStringError(`it names ${hostList.length} hosts but ${ports.length} ports`);
  const endpoints = hostList.map((h, i): Endpoint => {
    const port = ports.length === 1 ? ports[0] : ports[i];
    const resolvedPort = port ?? DEFAULT_PORT;
    const address = config.hostaddr[i] || undefined;
    return { host: h || (address ? address : defaultSocketDir(resolvedPort)), ...(address ? { address } : {}), port: resolvedPort };
  });
  const user = config.user || osUser();
  const home = env.HOME ?? "";
  return {
    endpoints,
    database: config.dbname || user,
    user,
    ...(config.password !== undefined ? { password: config.password } : {}),
    passfile: config.passfile || join(home, ".pgpass"),
    sslmode: (config.sslmode as SslMode | undefined) ?? "prefer",
    ssl: sslFiles(config, home),
    applicationName: config.application_name || config.fallback_application_name || "cobalt-backup",
    ...(config.options ? { options: config.options } : {}),
    connectTimeoutMs: config.connect_timeout ? config.connect_timeout * 1000 : 15_000,
  };
}

/**
 * libpq takes the query part of a URI raw up to `&` and `=` (`?host=/var/run/postgresql`);
 * the parser wants reserved characters there percent-encoded.
 */
function encodeQuery(uri: string): string {
  const q = uri.indexOf("?");
  return q < 0 ? uri : uri.slice(0, q + 1) + uri.slice(q + 1).replace(/[/:@,?]/g, (c) => encodeURIComponent(c));
}

const osUser = (): string => {
  try {
    return userInfo().username;
  } catch {
    return "postgres";
  }
};

/** The first default directory holding the server's socket; Debian's when there is none yet. */
function defaultSocketDir(port: number): string {
  return DEFAULT_SOCKET_DIRS.find((d) => existsSync(join(d, `.s.PGSQL.${port}`))) ?? DEFAULT_SOCKET_DIRS[0];
}

function sslFiles(config: Configuration, home: string): ConnectionSettings["ssl"] {
  const read = (path: string | undefined, what: string) => {
    if (!path) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      throw new ConnectionStringError(`cannot read the ${what} ${path}: ${(e as Error).message}`);
    }
  };
  const pgDir = join(home, ".postgresql");
  const orDefault = (given: string | undefined, file: string) => given ?? (existsSync(join(pgDir, file)) ? join(pgDir, file) : undefined);
  const rootcert = config.sslrootcert === "system" ? undefined : orDefault(config.sslrootcert, "root.crt");
  const ca = read(rootcert, "root certificate (sslrootcert)");
  const cert = read(orDefault(config.sslcert, "postgresql.crt"), "client certificate (sslcert)");
  const key = read(orDefault(config.sslkey, "postgresql.key"), "client key (sslkey)");
  const mode = config.sslmode;
  if ((mode === "verify-ca" || mode === "verify-full") && !ca && config.sslrootcert !== "system") {
    throw new ConnectionStringError(`sslmode=${mode} needs the server's root certificate: add sslrootcert=/path/to/root.crt (or sslrootcert=system), or put it in ~/.postgresql/root.crt`);
  }
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** The TLS settings to try, in order, for one endpoint (libpq's prefer and allow fall back). */
function sslAttempts(s: ConnectionSettings, e: Endpoint): pg.ClientConfig["ssl"][] {
  if (isSocketDir(e.host)) return [false];
  const files = { ...s.ssl };
  const lax = { ...files, rejectUnauthorized: false };
  const verifyCa = { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  const verifyFull = { ...files, rejectUnauthorized: true, servername: e.host };
  switch (s.sslmode) {
    case "disable":
      return [false];
    case "allow":
      return [false, lax];
    case "prefer":
      return [lax, false];
    case "require":
      // libpq: with a root certificate, require checks the chain as verify-ca does.
      return [files.ca ? verifyCa : lax];
    case "verify-ca":
      return [verifyCa];
    case "verify-full":
      return [verifyFull];
    case "no-verify":
      return [lax];
  }
}

/** Whether a failed attempt is one that the next TLS setting of libpq's prefer/allow may fix. */
const tlsRefused = (e: unknown): boolean => {
  const m = e instanceof Error ? e.message : String(e);
  return /does not support SSL|SSL off|no encryption|SSL connection is required|requires SSL/i.test(m);
};

/** Matches the password file as libpq does: a socket in the default directory is `localhost`. */
function passwordFileHost(e: Endpoint): string {
  if (!isSocketDir(e.host)) return e.host;
  return (DEFAULT_SOCKET_DIRS as readonly string[]).includes(e.host.replace(/\/+$/, "")) ? "localhost" : e.host;
}

/** The password for `e` from the password file, or undefined; a file others can read is ignored (with libpq's warning). */
export async function passwordFromFile(s: ConnectionSettings, e: Endpoint): Promise<string | undefined> {
  let stat;
  try {
    stat = statSync(s.passfile);
  } catch {
    return undefined;
  }
  if (!pgpassHelper.usePgPass(stat, s.passfile)) return undefined;
  return new Promise((resolve) => {
    const stream = createReadStream(s.passfile);
    stream.on("error", () => resolve(undefined));
    pgpassHelper.getPassword({ host: passwordFileHost(e), port: String(e.port), database: s.database, user: s.user }, stream, resolve);
  });
}

/** node-postgres settings for one attempt. */
function clientConfig(s: ConnectionSettings, e: Endpoint, ssl: pg.ClientConfig["ssl"]): pg.ClientConfig {
  return {
    host: e.address ?? e.host,
    port: e.port,
    user: s.user,
    database: s.database,
    // Asked only when the server wants a password: the one given, else the password file.
    password: async () => {
      const password = s.password ?? (await passwordFromFile(s, e));
      if (password === undefined) {
        throw new Error(`the server asks for a password for user ${s.user} and none was given: set PGPASSWORD, add a line to ${s.passfile} (host:port:database:user:password, mode 0600), or put it in the connection string`);
      }
      return password;
    },
    ssl,
    application_name: s.applicationName,
    ...(s.options ? { options: s.options } : {}),
    connectionTimeoutMillis: s.connectTimeoutMs,
  };
}

/**
 * Which TLS setting an endpoint took, by `host:port`: libpq falls back on the same connection,
 * node-postgres needs a new one (a backend started for nothing), so later connections of the same
 * target (a backup's workers) start with the setting that worked.
 */
export type TlsMemory = Map<string, number>;

/**
 * Connects as libpq would: each endpoint in order, and on each the TLS settings sslmode allows
 * (prefer: TLS, then without it). Rejects with the last error.
 */
export async function connectWith(Client: typeof pg.Client, s: ConnectionSettings, memory: TlsMemory = new Map()): Promise<pg.Client> {
  let last: unknown;
  for (const e of s.endpoints) {
    const attempts = sslAttempts(s, e);
    const at = `${e.address ?? e.host}:${e.port}`;
    for (let i = memory.get(at) ?? 0; i < attempts.length; i++) {
      const client = new Client(clientConfig(s, e, attempts[i]));
      // A server that closes the connection mid-COPY must fail the stream, not crash the process.
      client.on("error", () => {});
      try {
        await client.connect();
        if (i > 0) memory.set(at, i);
        return client;
      } catch (err) {
        last = err;
        await client.end().catch(() => {});
        if (i + 1 < attempts.length && tlsRefused(err)) continue;
        break;
      }
    }
  }
  throw last;
}

/**
 * The settings as a libpq URI psql accepts, a socket directory in `?host=`. With
 * `includePassword`, the password given (for a hook's DATABASE_URL); never for messages.
 */
export function toUri(s: ConnectionSettings, opts: { includePassword?: boolean } = {}): string {
  const e = s.endpoints[0]!;
  const auth = encodeURIComponent(s.user) + (opts.includePassword && s.password !== undefined ? `:${encodeURIComponent(s.password)}` : "");
  const db = encodeURIComponent(s.database);
  if (isSocketDir(e.host)) return `postgresql://${auth}@/${db}?host=${encodeURIComponent(e.host)}&port=${e.port}`;
  const host = e.host.includes(":") ? `[${e.host}]` : e.host;
  return `postgresql://${auth}@${host}:${e.port}/${db}${s.sslmode !== "prefer" ? `?sslmode=${s.sslmode}` : ""}`;
}

/** The PG* variables that make psql and other libpq programs connect to the same database. */
export function toEnv(s: ConnectionSettings): Record<string, string> {
  const e = s.endpoints[0]!;
  return {
    PGHOST: e.host,
    ...(e.address ? { PGHOSTADDR: e.address } : {}),
    PGPORT: String(e.port),
    PGUSER: s.user,
    PGDATABASE: s.database,
    ...(s.password !== undefined ? { PGPASSWORD: s.password } : {}),
    PGSSLMODE: s.sslmode === "no-verify" ? "require" : s.sslmode,
  };
}
