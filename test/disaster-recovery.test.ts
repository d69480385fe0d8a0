/**
 * Issue 6: the disaster runbook (docs/disaster-recovery.md), executed. From the bucket alone (no
 * manifest cache, no RDS), encrypted backups of the edge-case corpus and pagila are restored into
 * new databases three ways, and the oracle (pg_dump's schema, owners and privileges included, and
 * the data digests: rows, sequences, materialized views, large objects) holds each time:
 *   1. `cobalt-backup restore --from s3://... --identity key.txt`;
 *   2. the runbook's manual path: the newest backup with a manifest downloaded, then
 *      docs/restore-without-cobalt.sh with a PATH holding only sh, coreutils, awk, jq, age,
 *      zstd, gzip and psql (no node, no cobalt-backup);
 *   3. `cobalt-backup export-sql` into stock `psql -f`.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateX25519Identity, identityToRecipient, sessionPreamble } from "@cobalt-backup/core";
import { CLI, runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { repoRoot } from "./support/corpus.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

const SCRIPT = join(repoRoot, "docs/restore-without-cobalt.sh");
const RUNBOOK = join(repoRoot, "docs/disaster-recovery.md");
const pg15 = () => cluster(15);

let s3: S3Server;
let work: string;
let keyFile: string;
let recipient: string;
/** A HOME with nothing in it: no AWS config, no psqlrc, no cache of any kind. */
let emptyHome: string;
const PREFIX = "offsite/production";
const dest = () => `s3://${s3.bucket}/${PREFIX}`;
const s3Flags = () => ["--endpoint", s3.endpoint];
const cliEnv = () => ({ ...s3.env, HOME: emptyHome });

/** Our own tricky large objects on top of the corpus': empty, header-like bytes, > 1 chunk, an oid above 2^31. */
const EXTRA_LARGE_OBJECTS = `
  SELECT pg_catalog.lo_from_bytea(3000000000, ''::bytea);
  SELECT pg_catalog.lo_from_bytea(3000000001, pg_catalog.convert_to(E'LO 7 3\\nLO 1 2\\n\\n\\\\.\\n', 'UTF8'));
  SELECT pg_catalog.lo_from_bytea(3000000002, (SELECT string_agg(pg_catalog.decode(md5(i::text), 'hex'), ''::bytea ORDER BY i) FROM generate_series(1, 40000) i));
  SELECT pg_catalog.lo_from_bytea(17, '\\x0a0a0a00ff'::bytea);`;

/** The source databases, backed up once, encrypted, to the bucket. */
const sources = {} as Record<"edge" | "pagila", { db: string; url: string; compression: string }>;

beforeAll(async () => {
  s3 = await startS3();
  work = mkdtempSync(join(tmpdir(), "cobalt-dr-"));
  emptyHome = join(work, "home");
  mkdirSync(emptyHome);
  const identity = await generateX25519Identity();
  recipient = await identityToRecipient(identity);
  keyFile = join(work, "key.txt");
  writeFileSync(keyFile, `# the age identity kept offline\n${identity}\n`, { mode: 0o600 });

  const c = pg15();
  const edge = await c.newDatabase("dr_edge", "edge-cases_tpl");
  await c.query(edge, EXTRA_LARGE_OBJECTS);
  const pagila = await c.newDatabase("dr_pagila", "pagila_tpl");
  sources.edge = { db: edge, url: c.url(edge), compression: "zstd" };
  sources.pagila = { db: pagila, url: c.url(pagila), compression: "gzip" };
  for (const s of Object.values(sources)) {
    const b = await runCli(["backup", "--source", s.url, "--dest", dest(), "--recipient", recipient, "--compression", s.compression, ...s3Flags(), "--json"], cliEnv());
    expect(b.code, b.stderr).toBe(0);
  }
  // A newer, interrupted backup of each (no manifest.json): the runbook must not pick it.
  for (const s of Object.values(sources)) {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${s.db}/29991231T235959.999Z/schema.json.zst.age`, Body: "interrupted" }));
  }
});
afterAll(async () => {
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function listKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(r.Contents ?? []).map((o) => o.Key!));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * The runbook's download step, as `aws s3 ls --recursive | grep manifest.json | sort | tail -1`
 * then `aws s3 cp --recursive` do it: the newest backup prefix of a source that has a
 * manifest.json, every object under it, into a local folder.
 */
async function downloadNewestBackup(source: string, into: string): Promise<string> {
  const keys = await listKeys(`${PREFIX}/${source}/`);
  const committed = keys.filter((k) => k.endsWith("/manifest.json")).sort();
  const newest = committed.at(-1)!.slice(0, -"manifest.json".length);
  // Where there is a newer interrupted backup (schema, no manifest), it is not the one taken.
  expect(newest).not.toContain("29991231");
  for (const key of keys.filter((k) => k.startsWith(newest))) {
    const file = join(into, key.slice(newest.length));
    mkdirSync(dirname(file), { recursive: true });
    const body = (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body as Readable;
    await pipeline(body, createWriteStream(file));
  }
  return into;
}

/** A bin directory with only the runbook's tools: sh, coreutils it uses, awk, jq, age, zstd, gzip, psql, script (util-linux). */
function restrictedPath(): string {
  const bin = join(work, "bin");
  if (existsSync(bin)) return bin;
  mkdirSync(bin);
  const which = (tool: string) => execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
  for (const tool of ["sh", "cat", "rm", "mkdir", "mktemp", "mkfifo", "tee", "sha256sum", "cut", "od", "awk", "jq", "age", "zstd", "gzip", "script", "stty"]) symlinkSync(which(tool), join(bin, tool));
  // Debian's /usr/bin/psql is a Perl wrapper; link the PostgreSQL 15 client itself.
  const psql = ["/usr/lib/postgresql/15/bin/psql"].find(existsSync) ?? which("psql");
  symlinkSync(psql, join(bin, "psql"));
  return bin;
}
const restrictedEnv = () => ({ PATH: restrictedPath(), HOME: emptyHome, TMPDIR: tmpdir() });

function runScript(dir: string, targetUrl: string, identity?: string, env: Record<string, string> = {}) {
  return spawnSync("/bin/sh", [SCRIPT, dir, targetUrl, ...(identity ? [identity] : [])], { env: { ...restrictedEnv(), ...env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/**
 * A shell pipeline, run without blocking: s3rver serves from this very process, so a synchronous
 * child that reads the bucket would wait forever.
 */
function shell(command: string, env: Record<string, string | undefined>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done, failed) => {
    const child = spawn("bash", ["-o", "pipefail", "-c", command], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", failed);
    child.on("close", (status) => done({ status, stderr }));
  });
}

async function expectSameAsSource(source: string, target: string): Promise<void> {
  const c = pg15();
  expect(pgDumpSchema(c.url(target))).toEqual(pgDumpSchema(c.url(source)));
  expect(pgDumpSchema(c.url(target), { ownersAndPrivileges: true })).toEqual(pgDumpSchema(c.url(source), { ownersAndPrivileges: true }));
  expect(await dataDigest(c.url(target))).toEqual(await dataDigest(c.url(source)));
}

const userRelations = async (db: string) =>
  (await pg15().query<{ n: number }>(db, "SELECT count(*)::int AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"))[0]!.n;

it("the runbook names the script, the commands and the tools it uses", () => {
  const runbook = readFileSync(RUNBOOK, "utf8");
  for (const s of ["restore-without-cobalt.sh", "cobalt-backup restore", "export-sql", "age -d -i", "apt-get install", "manifest.json"]) expect(runbook).toContain(s);
  // The script fixes the same session as every cobalt-backup connection.
  expect(readFileSync(SCRIPT, "utf8")).toContain(sessionPreamble());
});

describe.each(["edge", "pagila"] as const)("%s, from the bucket alone", (name) => {
  it("restores with the CLI (cobalt-backup restore --identity)", async () => {
    const s = sources[name];
    const target = await pg15().newDatabase(`dr_cli_${name}`);
    const r = await runCli(["restore", "--from", dest(), "--backup", `${s.db}/latest`, "--identity", keyFile, "--target", pg15().url(target), ...s3Flags(), "--json"], cliEnv());
    expect(r.code, r.stderr).toBe(0);
    await expectSameAsSource(s.db, target);
  });

  it("restores with only sh, jq, age, zstd/gzip and psql (docs/restore-without-cobalt.sh)", async () => {
    const s = sources[name];
    expect(await listKeys(`${PREFIX}/${s.db}/29991231T235959.999Z/`)).toHaveLength(1);
    const dir = await downloadNewestBackup(s.db, join(work, `download-${name}`));
    expect(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).compression).toBe(s.compression);
    const noNode = spawnSync("/bin/sh", ["-c", "command -v node || command -v cobalt-backup || command -v pnpm"], { env: restrictedEnv() });
    expect(noNode.status).not.toBe(0);

    const target = await pg15().newDatabase(`dr_sh_${name}`);
    const r = runScript(dir, pg15().url(target), keyFile);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("restored ");
    await expectSameAsSource(s.db, target);
  });

  it("restores from export-sql with stock psql -f", async () => {
    const s = sources[name];
    const target = await pg15().newDatabase(`dr_sql_${name}`);
    if (name === "edge") {
      // Straight into psql, as a pipe: `cobalt-backup export-sql ... | psql -f -`.
      const cmd = `"${process.execPath}" "${CLI}" export-sql --from "${dest()}" --backup "${s.db}/latest" --identity "${keyFile}" --endpoint "${s3.endpoint}" | psql -X -q -v ON_ERROR_STOP=1 -d "${pg15().url(target)}" -f - >/dev/null`;
      const r = await shell(cmd, { ...process.env, ...cliEnv() });
      expect(r.status, r.stderr).toBe(0);
    } else {
      const file = join(work, "pagila.sql");
      const r = await runCli(["export-sql", "--from", dest(), "--backup", `${s.db}/latest`, "--identity", keyFile, "--out", file, ...s3Flags(), "--json"], cliEnv());
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ ok: true, tables: 21, out: file });
      // The file holds the database in the clear: its owner alone reads it, and the operator is told.
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(r.stderr).toContain(`note: ${file} holds the whole database decrypted; delete it once restored. To write nothing to disk, stream it: cobalt-backup export-sql ... | psql`);
      expect((await runCli(["export-sql", "--help"])).stdout).toMatch(/--out <file>[\s\S]*whole\s+database\s+decrypted:\s+prefer\s+the\s+stream,\s+export-sql\s+\.\.\.\s+\|\s+psql/);
      const sql = readFileSync(file, "utf8");
      expect(sql).toContain("SET check_function_bodies = false;");
      expect(sql.trimEnd().endsWith("COMMIT;")).toBe(true);
      execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg15().url(target), "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
    }
    await expectSameAsSource(s.db, target);
  });
});

it("owners and GRANTs naming a role the new server lacks are skipped with a warning, never a failed restore", async () => {
  const c = pg15();
  const ghost = `dr_ghost_${process.pid}`;
  const db = await c.newDatabase("dr_roles", "edge-cases_tpl");
  await c.query(db, `CREATE ROLE ${ghost}; GRANT SELECT ON app.people TO ${ghost}; ALTER TABLE app.log OWNER TO ${ghost}`);
  const b = await runCli(["backup", "--source", c.url(db), "--dest", dest(), "--recipient", recipient, ...s3Flags(), "--json"], cliEnv());
  expect(b.code, b.stderr).toBe(0);
  // The role is gone on the "new server": the source now holds what a restore there can give.
  await c.query(db, `REASSIGN OWNED BY ${ghost} TO CURRENT_USER; DROP OWNED BY ${ghost}; DROP ROLE ${ghost}`);

  const bySh = await c.newDatabase("dr_sh_roles");
  const r = runScript(await downloadNewestBackup(db, join(work, "download-roles")), c.url(bySh), keyFile);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toContain(`WARNING:  cobalt-backup: skipped owner app.log: a role it names (${ghost}) does not exist`);
  expect(r.stderr).toContain(`WARNING:  cobalt-backup: skipped acl app.people: a role it names`);
  await expectSameAsSource(db, bySh);

  const bySql = await c.newDatabase("dr_sql_roles");
  const file = join(work, "roles.sql");
  const x = await runCli(["export-sql", "--from", dest(), "--backup", `${db}/latest`, "--identity", keyFile, "--out", file, ...s3Flags()], cliEnv());
  expect(x.code, x.stderr).toBe(0);
  const psql = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", c.url(bySql), "-f", file], { encoding: "utf8" });
  expect(psql.status, psql.stderr).toBe(0);
  expect(psql.stderr).toContain(`cobalt-backup: skipped owner app.log: a role it names (${ghost}) does not exist`);
  await expectSameAsSource(db, bySql);
});

it("the script refuses a backup it cannot open or trust, before touching the target", async () => {
  const s = sources.edge;
  const dir = await downloadNewestBackup(s.db, join(work, "download-tampered"));
  const target = await pg15().newDatabase("dr_sh_refused");

  const noKey = runScript(dir, pg15().url(target));
  expect(noKey.status).not.toBe(0);
  expect(noKey.stderr).toMatch(/encrypted for age1.*pass the file with the matching AGE-SECRET-KEY/);

  const wrongKey = join(work, "wrong.txt");
  writeFileSync(wrongKey, `${await generateX25519Identity()}\n`);
  const wrong = runScript(dir, pg15().url(target), wrongKey);
  expect(wrong.status).not.toBe(0);
  expect(wrong.stderr).toMatch(/age cannot decrypt schema\.json\.zst\.age/);

  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  const victim = join(dir, manifest.tables[0].parts[0].key);
  const bytes = readFileSync(victim);
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
  writeFileSync(victim, bytes);
  const tampered = runScript(dir, pg15().url(target), keyFile);
  expect(tampered.status).not.toBe(0);
  expect(tampered.stderr).toMatch(/objects differ from the manifest/);
  expect(await userRelations(target)).toBe(0);
});

it("export-sql of a corrupt object: the export fails and the partial script restores nothing", async () => {
  const s = sources.edge;
  const keys = await listKeys(`${PREFIX}/${s.db}/`);
  const manifestKey = keys.filter((k) => k.endsWith("/manifest.json")).sort().at(-1)!;
  const manifest = JSON.parse(Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: manifestKey }))).Body!.transformToByteArray()).toString());
  // The largest table's object, one byte flipped at the same size: only its sha256 (or age's tag) tells.
  const table = [...manifest.tables].sort((a, b) => b.bytes - a.bytes)[0];
  const key = `${manifestKey.slice(0, -"manifest.json".length)}${table.parts[0].key}`;
  const body = Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
  const at = Math.floor(body.length / 2);
  body[at] = body[at]! ^ 0x01;
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));

  const file = join(work, "corrupt.sql");
  const r = await runCli(["export-sql", "--from", dest(), "--backup", `${s.db}/latest`, "--identity", keyFile, "--out", file, ...s3Flags()], cliEnv());
  // The backup is proven bad: exit 3.
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/export failed: .*(corrupt|decrypt|cannot be read)/);
  expect(existsSync(file)).toBe(false);

  // On stdout the partial script cannot be taken back: it ends in an error, and as one
  // transaction it never commits, even in a psql that does not stop on errors.
  const partial = join(work, "corrupt-stdout.sql");
  const r2 = await shell(`"${process.execPath}" "${CLI}" export-sql --from "${dest()}" --backup "${s.db}/latest" --identity "${keyFile}" --endpoint "${s3.endpoint}" > "${partial}"`, { ...process.env, ...cliEnv() });
  expect(r2.status).toBe(3);
  const script = readFileSync(partial, "utf8");
  expect(script).toContain("CREATE TABLE");
  expect(script.trimEnd()).toMatch(/RAISE EXCEPTION 'cobalt-backup export-sql failed: %', '.*(corrupt|decrypt|cannot be read).*'; END \$cobalt\$;$/);
  const target = await pg15().newDatabase("dr_sql_corrupt");
  execFileSync("psql", ["-X", "-q", "-d", pg15().url(target), "-f", partial], { stdio: ["ignore", "ignore", "ignore"] });
  expect(await userRelations(target)).toBe(0);
});

describe("a passphrase-encrypted backup, without cobalt-backup", () => {
  const PASSPHRASE = "correct horse battery staple";
  let db: string;
  let dir: string;
  beforeAll(async () => {
    // A few tables: every object costs age a deliberately slow scrypt.
    db = await pg15().newDatabase("dr_passphrase");
    await pg15().query(db, "CREATE TABLE public.a (id int PRIMARY KEY, v text); CREATE TABLE public.b (id int REFERENCES public.a, w numeric); CREATE TABLE public.c (x bytea); INSERT INTO public.a SELECT i, md5(i::text) FROM generate_series(1, 1000) i; INSERT INTO public.b SELECT i, i / 3.0 FROM generate_series(1, 1000) i; INSERT INTO public.c VALUES ('\\x00ff'); SELECT pg_catalog.lo_from_bytea(0, 'blob'::bytea)");
    const b = await runCli(["backup", "--source", pg15().url(db), "--dest", `s3://${s3.bucket}/passphrase`, "--passphrase-env", "DR_PASSPHRASE", ...s3Flags(), "--json"], { ...cliEnv(), DR_PASSPHRASE: PASSPHRASE });
    expect(b.code, b.stderr).toBe(0);
    const keys = await listKeys(`passphrase/${b.json!.id}/`);
    dir = join(work, "download-passphrase");
    for (const key of keys) {
      const file = join(dir, key.slice(`passphrase/${b.json!.id}/`.length));
      mkdirSync(dirname(file), { recursive: true });
      await pipeline((await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body as Readable, createWriteStream(file));
    }
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    expect(manifest.encryption).toMatchObject({ recipients: [], passphrase: true });
    expect(manifest.tables.length + 2).toBe(5);
  });

  it("takes the passphrase from AGE_PASSPHRASE for every object", async () => {
    const target = await pg15().newDatabase("dr_sh_passphrase_env");
    const r = runScript(dir, pg15().url(target), undefined, { AGE_PASSPHRASE: PASSPHRASE });
    expect(r.status, r.stderr).toBe(0);
    await expectSameAsSource(db, target);
  });

  it("on a terminal, asks for it once for the whole backup (age alone asks once per object)", async () => {
    const target = await pg15().newDatabase("dr_sh_passphrase_tty");
    // script(1) gives the restore a terminal; the passphrase is typed once, when asked.
    const inner = ["/bin/sh", SCRIPT, dir, pg15().url(target)].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const child = spawn("/usr/bin/script", ["-qec", inner, "/dev/null"], { env: restrictedEnv(), stdio: ["pipe", "pipe", "pipe"] });
    let screen = "";
    child.stdout.on("data", (d) => {
      const before = screen;
      screen += d;
      if (!before.includes("Passphrase of backup") && screen.includes("Passphrase of backup")) child.stdin.write(`${PASSPHRASE}\n`);
    });
    child.stderr.on("data", (d) => (screen += d));
    const status = await new Promise<number | null>((done) => child.on("close", done));
    expect(status, screen).toBe(0);
    expect(screen.match(/Passphrase of backup/g)).toHaveLength(1);
    expect(screen).not.toMatch(/Enter passphrase/);
    expect(screen).not.toContain(PASSPHRASE);
    expect(screen).toContain("restored ");
    await expectSameAsSource(db, target);
  });

  it("a wrong passphrase stops the script before anything is created, naming the object", async () => {
    const target = await pg15().newDatabase("dr_sh_passphrase_wrong");
    const r = runScript(dir, pg15().url(target), undefined, { AGE_PASSPHRASE: "wrong" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/age cannot decrypt schema\.json\.zst\.age \(wrong passphrase\?\)/);
    expect(await userRelations(target)).toBe(0);
  });

  it("with neither a terminal nor AGE_PASSPHRASE, says how to give it", async () => {
    const r = spawnSync("/usr/bin/setsid", ["-w", "/bin/sh", SCRIPT, dir, "postgresql://nowhere/x"], { env: restrictedEnv(), encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/encrypted with a passphrase: run this in a terminal, or set AGE_PASSPHRASE/);
  });
});
