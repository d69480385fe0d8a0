/**
 * Issue 16, point 1: restore and verify take every connection string psql takes, against a real
 * server over its Unix socket and over TCP, with the password from the string, PGPASSWORD,
 * PGPASSFILE or ~/.pgpass. One test per form and command.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest } from "./support/oracle.ts";
import { backup, tempStore } from "./support/roundtrip.ts";

const c = () => cluster(15);
let dest: string;
let id: string;
let source: string;
/** The embedded server's socket is in /tmp, one of libpq's default socket directories. */
const SOCKET_DIR = "/tmp";
let port: string;
let password: string;

/** An empty HOME and no PG* variable from the test runner: each form brings what it needs. */
function envWith(vars: Record<string, string>, pgpass?: string): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), "cobalt-home-"));
  if (pgpass !== undefined) {
    writeFileSync(join(home, ".pgpass"), pgpass);
    chmodSync(join(home, ".pgpass"), 0o600);
  }
  const clean = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith("PG")).map((k) => [k, ""]));
  return { ...clean, HOME: home, ...vars };
}

beforeAll(async () => {
  const u = new URL(c().url());
  port = u.port;
  password = decodeURIComponent(u.password);
  source = await c().newDatabase("connstr_src");
  await c().query(source, `CREATE TABLE public.t (id int PRIMARY KEY, note text); INSERT INTO public.t SELECT i, 'row ' || i FROM generate_series(1, 500) i; CREATE SCHEMA "Odd schema"; CREATE TABLE "Odd schema".u AS SELECT 1 AS x`);
  dest = tempStore();
  id = await backup(c().url(source), dest);
});

/** Each form: how it names the target database, and the environment it relies on. */
const forms: Record<string, (db: string) => { target: string; env: Record<string, string> }> = {
  "host-less URI (the default socket directory), password from PGPASSWORD": (db) => ({ target: `postgresql://postgres@/${db}`, env: envWith({ PGPORT: port, PGPASSWORD: password }) }),
  "socket directory as ?host=/tmp, password from ~/.pgpass (localhost: the default directory)": (db) => ({
    target: `postgresql:///${db}?host=${SOCKET_DIR}&port=${port}&user=postgres`,
    env: envWith({}, `localhost:${port}:*:postgres:${password}\n`),
  }),
  "socket directory percent-encoded in the host part, password from PGPASSFILE": (db) => {
    const dir = mkdtempSync(join(tmpdir(), "cobalt-passfile-"));
    const file = join(dir, "pass");
    writeFileSync(file, `*:${port}:*:postgres:${password}\n`);
    chmodSync(file, 0o600);
    return { target: `postgresql://postgres@%2Ftmp:${port}/${db}`, env: envWith({ PGPASSFILE: file }) };
  },
  "key=value string over TCP, quoted values": (db) => ({ target: `host=127.0.0.1 port=${port} dbname='${db}' user=postgres password='${password}' sslmode=prefer`, env: envWith({}) }),
  "a bare database name, everything else from PGHOST, PGPORT, PGUSER, PGPASSWORD": (db) => ({ target: db, env: envWith({ PGHOST: "127.0.0.1", PGPORT: port, PGUSER: "postgres", PGPASSWORD: password }) }),
};

describe.each(Object.entries(forms))("%s", (_name, form) => {
  it("restore --target", async () => {
    const db = await c().newDatabase("connstr_restore");
    const { target, env } = form(db);
    const r = await runCli(["restore", "--from", dest, "--backup", id, "--target", target, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, tables: 2, rows: 501 });
    expect(await dataDigest(c().url(db))).toEqual(await dataDigest(c().url(source)));
  });

  it("verify --target (the scratch database is created on that server, then dropped)", async () => {
    const { target, env } = form("postgres");
    const r = await runCli(["verify", "--from", dest, "--backup", id, "--target", target, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.report).toMatchObject({ ok: true });
    // This verify's own scratch database (other tests verify on the same server at the same time).
    const scratch = /^scratch (cobalt_verify_[0-9a-f]+)$/.exec(r.json!.report.target)?.[1];
    expect(scratch).toBeDefined();
    const left = await c().query<{ n: number }>("postgres", "SELECT count(*)::int AS n FROM pg_database WHERE datname = $1", [scratch]);
    expect(left[0]!.n).toBe(0);
  });
});

it("a server that asks for a password nobody gave: the error says where a password can come from", async () => {
  const db = await c().newDatabase("connstr_nopw");
  const r = await runCli(["restore", "--from", dest, "--backup", id, "--target", `postgresql://postgres@127.0.0.1:${port}/${db}`], envWith({}));
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/asks for a password for user postgres and none was given: set PGPASSWORD, add a line to .*\.pgpass/);
  expect(r.stderr).not.toContain("SASL");
});

it("a string that is not a connection string is refused before anything happens, with the forms it takes", async () => {
  const r = await runCli(["restore", "--from", dest, "--backup", id, "--target", "mysql://root@localhost/db"], envWith({}));
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--target is not a usable connection string \(mysql:\/\/ is not a PostgreSQL connection string\): expected .*host=\.\.\. dbname=/);
});

it("backup --source takes the same forms (a socket and ~/.pgpass)", async () => {
  const store = tempStore();
  const r = await runCli(["backup", "--source", `host=${SOCKET_DIR} port=${port} dbname=${source} user=postgres`, "--dest", store, "--json"], envWith({}, `localhost:${port}:${source}:postgres:${password}\n`));
  expect(r.code, r.stderr).toBe(0);
});
