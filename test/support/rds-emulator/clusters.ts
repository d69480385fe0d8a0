/**
 * The PostgreSQL behind each emulated DB instance: a source cluster made by the CLI's own
 * embedded-postgres adapter, snapshots taken online with the low-level backup API
 * (pg_backup_start, copy, pg_backup_stop, WAL, backup_label: what pg_basebackup does), and
 * restored instances started on a copy of a snapshot's data directory.
 */
import { randomBytes } from "node:crypto";
import { chmod, chown, constants, copyFile, lchown, lstat, mkdir, readdir, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, startPostgresOn, type PostgresBinaries } from "../../../packages/cli/src/adapters/embedded-postgres.ts";

/** The internal superuser the emulator administers clusters with (like RDS's own `rdsadmin`). */
export const ADMIN_ROLE = "rdsadmin";

/** A running PostgreSQL server owned by the emulator. */
export interface PgCluster {
  port: number;
  dataDir: string;
  /** The last lines the server logged, for diagnosing a failed start. */
  log: string[];
  /** Stops the server and deletes its files. Idempotent. */
  destroy(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

function logSink(log: string[]) {
  return (line: unknown) => {
    log.push(...String(line).split("\n").filter(Boolean));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
}

export async function withClient<T>(url: string, use: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export const adminUrl = (port: number, adminPassword: string, database = "postgres") =>
  `postgresql://${ADMIN_ROLE}:${encodeURIComponent(adminPassword)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

/**
 * A new cluster (initdb) with the master role: `postgres` is the bootstrap superuser given the
 * master password; any other name is created as a SUPERUSER login role. Also creates the
 * `rdsadmin` role, `dbName` if given, and keeps WAL around (wal_keep_size) for online snapshots.
 */
export async function createSourceCluster(
  binaries: PostgresBinaries,
  opts: { masterUsername: string; masterPassword: string; dbName?: string },
): Promise<{ cluster: PgCluster; adminPassword: string; engineVersion: string }> {
  if (opts.masterUsername === ADMIN_ROLE) throw new Error(`master user name ${ADMIN_ROLE} is reserved`);
  const log: string[] = [];
  const server = await startEmbeddedPostgres(binaries, { fast: true, onLog: logSink(log) });
  const adminPassword = randomBytes(18).toString("base64url");
  let dataDir = "";
  let engineVersion = "";
  try {
    await withClient(server.url(), async (c) => {
      await c.query(`CREATE ROLE ${ADMIN_ROLE} LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(adminPassword)}`);
      const master = c.escapeIdentifier(opts.masterUsername);
      const pw = c.escapeLiteral(opts.masterPassword);
      if (opts.masterUsername === "postgres") await c.query(`ALTER ROLE postgres PASSWORD ${pw}`);
      else await c.query(`CREATE ROLE ${master} LOGIN SUPERUSER CREATEDB CREATEROLE PASSWORD ${pw}`);
      if (opts.dbName) await c.query(`CREATE DATABASE ${c.escapeIdentifier(opts.dbName)} OWNER ${master} TEMPLATE template0 ENCODING 'UTF8'`);
      await c.query("ALTER SYSTEM SET wal_keep_size = '1GB'");
      await c.query("SELECT pg_reload_conf()");
      dataDir = (await c.query<{ data_directory: string }>("SHOW data_directory")).rows[0]!.data_directory;
      engineVersion = (await c.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version.split(" ")[0]!;
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  let destroyed: Promise<void> | undefined;
  return {
    cluster: { port: server.port, dataDir, log, destroy: () => (destroyed ??= server.stop()) },
    adminPassword,
    engineVersion,
  };
}

/** Starts PostgreSQL on an existing data directory (a restored snapshot copy) on a free port; `base` is deleted on destroy. */
export async function startClusterOn(binaries: PostgresBinaries, dataDir: string, base: string): Promise<PgCluster> {
  const log: string[] = [];
  let server;
  try {
    server = await startPostgresOn(binaries, dataDir, base, { fast: true, onLog: logSink(log) });
  } catch (e) {
    throw new Error(`PostgreSQL did not start on ${dataDir}: ${e instanceof Error ? e.message : String(e)}\n${log.slice(-20).join("\n")}`);
  }
  let destroyed: Promise<void> | undefined;
  return { port: server.port, dataDir, log, destroy: () => (destroyed ??= server.stop()) };
}

/** Sets a role's password on a running cluster (what a master password change finally does). */
export async function setRolePassword(port: number, adminPassword: string, role: string, password: string): Promise<void> {
  await withClient(adminUrl(port, adminPassword), (c) => c.query(`ALTER ROLE ${c.escapeIdentifier(role)} PASSWORD ${c.escapeLiteral(password)}`));
}

/** Files pg_basebackup leaves out: runtime state, and the contents of directories rebuilt at startup. */
const EXCLUDED_FILES = new Set(["postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "backup_manifest"]);
const EMPTIED_DIRS = new Set(["pg_wal", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_replslot"]);

/**
 * Copies a running cluster's data directory to `dest` consistently without stopping it: the
 * non-exclusive low-level backup API around a file copy, then the WAL from the backup's start to
 * its end, and the backup_label; starting PostgreSQL on `dest` replays that WAL.
 */
export async function onlineBackup(port: number, adminPassword: string, dataDir: string, dest: string): Promise<void> {
  await withClient(adminUrl(port, adminPassword), async (c) => {
    const version = Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    const label = `rds-emulator-${Date.now()}`;
    await c.query(version >= 150000 ? "SELECT pg_backup_start($1, true)" : "SELECT pg_start_backup($1, true, false)", [label]);
    await copyTree(dataDir, dest, (rel, name) => {
      if (name.startsWith("pgsql_tmp")) return "skip";
      if (!rel.includes("/") && EXCLUDED_FILES.has(rel)) return "skip";
      const top = rel.split("/")[0]!;
      if (EMPTIED_DIRS.has(top)) return rel === top ? "empty" : "skip";
      return "copy";
    });
    const stop = await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>(
      version >= 150000 ? "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)" : "SELECT lsn::text, labelfile, spcmapfile FROM pg_stop_backup(false, false)",
    );
    const { lsn, labelfile, spcmapfile } = stop.rows[0]!;
    const startFile = /START WAL LOCATION: .* \(file ([0-9A-F]{24})\)/.exec(labelfile)?.[1];
    if (!startFile) throw new Error(`unexpected backup label:\n${labelfile}`);
    const stopFile = (await c.query<{ f: string }>("SELECT pg_walfile_name($1::pg_lsn) AS f", [lsn])).rows[0]!.f;
    const wal = join(dataDir, "pg_wal");
    await mkdir(join(dest, "pg_wal", "archive_status"), { recursive: true });
    await copyMeta(join(wal, "archive_status"), join(dest, "pg_wal", "archive_status"));
    for (const name of await readdir(wal)) {
      const segment = /^[0-9A-F]{24}$/.test(name);
      if ((segment && name >= startFile && name <= stopFile) || name.endsWith(".history")) await copyFileWithMeta(join(wal, name), join(dest, "pg_wal", name));
    }
    await writeOwned(join(dest, "backup_label"), labelfile, dataDir);
    if (spcmapfile) await writeOwned(join(dest, "tablespace_map"), spcmapfile, dataDir);
  });
}

/** A plain copy of a data directory that no server is using (a snapshot), keeping owners and modes. */
export function copyDataDir(src: string, dest: string): Promise<void> {
  return copyTree(src, dest, () => "copy");
}

type Decision = "copy" | "skip" | "empty";

/**
 * Recursive copy preserving modes and (as root) owners, so PostgreSQL run as the `postgres` user
 * accepts the copy. Files that vanish while copying (a live cluster's temporary files) are skipped.
 */
async function copyTree(src: string, dest: string, decide: (rel: string, name: string) => Decision, rel = ""): Promise<void> {
  await mkdir(dest, { recursive: true });
  const entries = await readdir(src, { withFileTypes: true }).catch(ignoreMissing);
  if (!entries) return;
  await Promise.all(
    entries.map(async (entry) => {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const decision = decide(childRel, entry.name);
      if (decision === "skip") return;
      const from = join(src, entry.name);
      const to = join(dest, entry.name);
      if (entry.isDirectory()) {
        if (decision === "empty") await mkdir(to, { recursive: true });
        else await copyTree(from, to, decide, childRel);
        await copyMeta(from, to);
      } else if (entry.isSymbolicLink()) {
        const target = await readlink(from).catch(ignoreMissing);
        if (target === undefined) return;
        await symlink(target, to);
        const st = await lstat(from).catch(ignoreMissing);
        if (st && isRoot()) await lchown(to, st.uid, st.gid);
      } else if (entry.isFile()) {
        await copyFileWithMeta(from, to);
      }
    }),
  );
  if (!rel) await copyMeta(src, dest);
}

async function copyFileWithMeta(from: string, to: string): Promise<void> {
  try {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  await copyMeta(from, to);
}

async function copyMeta(from: string, to: string): Promise<void> {
  const st = await lstat(from).catch(ignoreMissing);
  if (!st) return;
  if (isRoot()) await chown(to, st.uid, st.gid);
  await chmod(to, st.mode & 0o7777);
}

async function writeOwned(path: string, text: string, ownerOf: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  const st = await lstat(ownerOf);
  if (isRoot()) await chown(path, st.uid, st.gid);
}

function ignoreMissing(e: unknown): undefined {
  if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw e;
}
