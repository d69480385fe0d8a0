/**
 * The connection strings every command takes (--source, --target, source.url, verify.target):
 * what psql -d takes, completed from the PG* variables and libpq's defaults, the password from
 * the password file with libpq's matching rules. The real connections are in
 * test/connection-strings.test.ts.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type pg from "pg";
import { ConnectionStringError, connectWith, parseConnection, passwordFromFile, toEnv, toUri, type TlsMemory } from "../../packages/cli/src/adapters/connection-string.ts";
import { count } from "../../packages/cli/src/output.ts";

const home = mkdtempSync(join(tmpdir(), "cobalt-connstr-"));
const env = (vars: Record<string, string> = {}) => ({ HOME: home, ...vars });

describe("connection strings as psql takes them", () => {
  it("a host-less URI is the local socket, the port and user as given", () => {
    const s = parseConnection("postgresql://app@/restored", env({ PGPORT: "5433" }));
    expect(s.endpoints).toHaveLength(1);
    expect(s.endpoints[0]!.host).toMatch(/^\/(var\/run\/postgresql|tmp)$/);
    expect(s).toMatchObject({ database: "restored", user: "app", sslmode: "prefer" });
    expect(s.endpoints[0]!.port).toBe(5433);
    expect(s.password).toBeUndefined();
  });

  it("a socket directory in ?host= (raw or encoded) or percent-encoded in the host part", () => {
    for (const uri of ["postgresql:///restored?host=/var/run/postgresql&port=5434", "postgresql:///restored?host=%2Fvar%2Frun%2Fpostgresql&port=5434", "postgresql://%2Fvar%2Frun%2Fpostgresql:5434/restored"]) {
      expect(parseConnection(uri, env()).endpoints, uri).toEqual([{ host: "/var/run/postgresql", port: 5434 }]);
    }
  });

  it("key=value pairs, quoted values with escapes and spaces around '='", () => {
    const s = parseConnection(`host=/tmp port=5435 dbname='my db' user = app password='it\\'s' sslmode=disable`, env());
    expect(s).toMatchObject({ endpoints: [{ host: "/tmp", port: 5435 }], database: "my db", user: "app", password: "it's", sslmode: "disable" });
  });

  it("a bare name is a database; the PG* variables fill in the rest; user and database default as in libpq", () => {
    const s = parseConnection("restored", env({ PGHOST: "db.example.net", PGPORT: "6432", PGUSER: "admin", PGPASSWORD: "pw", PGSSLMODE: "require" }));
    expect(s).toMatchObject({ endpoints: [{ host: "db.example.net", port: 6432 }], database: "restored", user: "admin", password: "pw", sslmode: "require" });
    const d = parseConnection("postgresql://db.example.net", env());
    expect(d.user).toBe(userInfo().username);
    expect(d.database).toBe(d.user);
    expect(d.endpoints[0]!.port).toBe(5432);
    // The string wins over the environment.
    expect(parseConnection("postgresql://u:p@h:1/x", env({ PGUSER: "other", PGPASSWORD: "other", PGDATABASE: "other" }))).toMatchObject({ user: "u", password: "p", database: "x" });
  });

  it("a host list is tried in order, with one port for all or one each", () => {
    expect(parseConnection("postgresql://a:1,b:2/x", env()).endpoints).toEqual([{ host: "a", port: 1 }, { host: "b", port: 2 }]);
    expect(parseConnection("host=a,b port=7 dbname=x", env()).endpoints).toEqual([{ host: "a", port: 7 }, { host: "b", port: 7 }]);
  });

  it("refuses what is not a PostgreSQL connection string, naming the problem", () => {
    const bad = (s: string, e: Record<string, string> = {}) => () => parseConnection(s, env(e));
    expect(bad("mysql://u@h/x")).toThrow(/mysql:\/\/ is not a PostgreSQL connection string/);
    expect(bad("postgresql://h/x?bogus=1")).toThrow(/unknown option bogus/);
    expect(bad("host=h dbname=x sslmode=sometimes")).toThrow(ConnectionStringError);
    expect(bad("service=prod")).toThrow(/service files .* are not supported/);
    expect(bad("  ")).toThrow(/empty/);
    expect(bad("postgresql://h/x?sslmode=verify-full")).toThrow(/sslmode=verify-full needs the server's root certificate/);
  });

  it("prints as a URI without the password, and as PG* variables, that parse back to the same settings", () => {
    for (const input of ["postgresql://app:s%40cret@db.example.net:6432/prod?sslmode=require", "host=/var/run/postgresql port=5433 dbname=x user=root"]) {
      const s = parseConnection(input, env());
      expect(toUri(s)).not.toContain("cret");
      expect(parseConnection(toUri(s, { includePassword: true }), env())).toEqual(s);
    }
  });
});

describe("the password file", () => {
  const passfile = (lines: string, mode = 0o600) => {
    const f = join(mkdtempSync(join(tmpdir(), "cobalt-pgpass-")), "pgpass");
    writeFileSync(f, lines);
    chmodSync(f, mode);
    return f;
  };
  const lookup = (connection: string, vars: Record<string, string>) => {
    const s = parseConnection(connection, env(vars));
    return passwordFromFile(s, s.endpoints[0]!);
  };

  it("matches host, port, database and user; a socket in the default directory is localhost", async () => {
    const f = passfile("# comment\nother:5432:*:app:wrong\nlocalhost:5433:restored:app:socket-pw\ndb.example.net:*:*:app:tcp-pw\n/srv/pg:5433:*:*:dir-pw\n");
    expect(await lookup("postgresql://app@/restored?host=/var/run/postgresql&port=5433", { PGPASSFILE: f })).toBe("socket-pw");
    expect(await lookup("host=db.example.net user=app dbname=x", { PGPASSFILE: f })).toBe("tcp-pw");
    expect(await lookup("host=/srv/pg port=5433 user=app dbname=x", { PGPASSFILE: f })).toBe("dir-pw");
    expect(await lookup("host=elsewhere user=app dbname=x", { PGPASSFILE: f })).toBeUndefined();
    // passfile= in the string wins over PGPASSFILE.
    expect(await lookup(`host=db.example.net user=app dbname=x passfile=${f}`, { PGPASSFILE: "/nonexistent" })).toBe("tcp-pw");
  });

  it("defaults to ~/.pgpass and, as libpq does, ignores a file others can read", async () => {
    const f = passfile("*:*:*:*:from-home\n");
    expect(parseConnection("x", { HOME: "/home/someone" }).passfile).toBe("/home/someone/.pgpass");
    expect(await lookup("host=h user=u dbname=x", { PGPASSFILE: f })).toBe("from-home");
    const open = passfile("*:*:*:*:from-home\n", 0o644);
    expect(await lookup("host=h user=u dbname=x", { PGPASSFILE: open })).toBeUndefined();
  });
});

it("toEnv gives psql the same connection", () => {
  const s = parseConnection("postgresql://app:pw@db.example.net:6432/prod", env());
  expect(toEnv(s)).toEqual({ PGHOST: "db.example.net", PGPORT: "6432", PGUSER: "app", PGDATABASE: "prod", PGPASSWORD: "pw", PGSSLMODE: "prefer" });
});

describe("sslmode=prefer against a server without TLS", () => {
  /** A client class that records each attempt's TLS setting; the server refuses TLS as PostgreSQL does. */
  const serverWithoutTls = (attempts: unknown[]) =>
    class {
      constructor(private readonly config: pg.ClientConfig) {}
      on() {}
      async connect() {
        attempts.push(this.config.ssl);
        if (this.config.ssl) throw new Error("The server does not support SSL connections");
      }
      async end() {}
    } as unknown as typeof pg.Client;

  it("falls back without TLS, and the target's later connections go straight there", async () => {
    const attempts: unknown[] = [];
    const Client = serverWithoutTls(attempts);
    const s = parseConnection("postgresql://app@db.internal:5432/prod", env());
    const memory: TlsMemory = new Map();
    await connectWith(Client, s, memory);
    expect(attempts.map(Boolean)).toEqual([true, false]);
    await connectWith(Client, s, memory);
    await connectWith(Client, s, memory);
    expect(attempts.map(Boolean)).toEqual([true, false, false, false]);
    // Without the memory (another target), TLS is tried first again.
    await connectWith(Client, s);
    expect(attempts.map(Boolean)).toEqual([true, false, false, false, true, false]);
  });
});

describe("counts in messages", () => {
  it("groups thousands", () => {
    expect([0, 7, 999, 1000, 1547737, -12345, 1234.5].map(count)).toEqual(["0", "7", "999", "1,000", "1,547,737", "-12,345", "1,234.5"]);
  });
});
