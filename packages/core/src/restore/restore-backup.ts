import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { copyFromSql } from "../pg/copy-sql.js";
import { restoreLargeObjects } from "../pg/large-objects.js";
import { setvalSql } from "../pg/sequences.js";
import type { Manifest, TableObject } from "../manifest/manifest.js";
import { describeConnectError } from "../pg/connect-error.js";
import { applySessionSettings, type PgClient, type PgConnect } from "../pg/session.js";
import { qname } from "../pg/sql.js";
import { Failure, failWith, type Fail, settle, unexpected, type ResultAsync, type Unexpected } from "../result.js";
import type { DdlItem } from "../schema/model.js";
import { DIRECT_MEMBERSHIP, createRoleSql, grantMembershipSql, type CreateRolesOptions, type RoleSpec } from "../schema/roles.js";
import { corruptionOf, openBackup, openChecked, type BackupReadError } from "../catalog/open-backup.js";
import type { BackupStore } from "../store/backup-store.js";
import { corruptObject } from "../object/read-object.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { abortReason, causeMessage } from "../util/errors.js";
import { IntegrityError, Meter } from "../util/meter.js";
import { runPool } from "../util/pool.js";
import { postDataBatches } from "./post-data-batches.js";
import { cleanDatabase, describeContents } from "./target-contents.js";

/** Why a restore stopped. Errors before `SchemaApplyFailed` leave the target untouched. */
export type RestoreError =
  | BackupReadError
  | { _tag: "TargetConnectFailed"; reason: string; message: string; retryable: boolean }
  | { _tag: "TargetNotEmpty"; objects: string[]; message: string }
  | { _tag: "SchemaApplyFailed"; object: string; message: string }
  | { _tag: "LoadFailed"; table: string; key: string; message: string }
  /** The signal fired: connections were closed; what was loaded stays, in no committed table. */
  | { _tag: "Interrupted"; reason: string; message: string }
  | Unexpected;

export interface RestoreProgress {
  /** `read-back`: verify re-reading the restored tables. */
  phase: "check" | "pre-data" | "data" | "post-data" | "finish" | "read-back";
  tablesTotal: number;
  tablesDone: number;
  rows: number;
  /** The table that just finished, when one did. */
  table?: string;
  /** A table still loading (or being read back), and how far it got, as its rows stream. */
  streaming?: { table: string; rows: number; rawBytes: number; expectedRows: number };
}

export interface RestoreDeps {
  /** Opens a connection to the target database; one per job plus one coordinator. */
  connect: PgConnect;
  store: BackupStore;
  /** age identities or passphrase, for encrypted backups. */
  decryption?: DecryptionKeys;
  /** Called at each phase, each finished table, and each chunk loaded into a table (throttle it). */
  onProgress?: (p: RestoreProgress) => void;
  /** Stops the restore: every connection is closed, the table being loaded is rolled back. */
  signal?: AbortSignal;
}

export interface RestoreInput {
  /** A committed backup id (resolve `latest` first with `resolveBackupId`). */
  id: string;
  jobs: number;
  /** Drop what the target holds first; without it a non-empty target is refused. */
  clean: boolean;
  /** How the target is named in messages, without credentials. */
  targetName: string;
  /** Restore object owners (default true); like pg_restore's no-owner option when false. */
  owners?: boolean;
  /** Restore GRANTs and default privileges (default true); like pg_restore's no-privileges option when false. */
  privileges?: boolean;
  /** Create the roles the backup uses that the target lacks, before anything else (none when absent). */
  createRoles?: CreateRolesOptions;
}

/** What `createRoles` did: roles created or already there, memberships granted, and what the target refused. */
export interface RolesReport {
  created: string[];
  existing: string[];
  memberships: number;
  skipped: SkippedPrivilege[];
}

/** An owner or privilege statement not applied, and why (a missing role, a refused ALTER). */
export interface SkippedPrivilege {
  object: string;
  reason: string;
}

export interface RestoreOutput {
  id: string;
  manifest: Manifest;
  tables: number;
  rows: number;
  largeObjects: number;
  /** Owners and privileges the target could not take: its roles differ from the source's. */
  skippedPrivileges: SkippedPrivilege[];
  /** Present when roles were to be created. */
  roles?: RolesReport;
  durationMs: number;
}

/** Pre-data statements per transaction. */
export const PRE_DATA_BATCH = 500;

const fail: Fail<RestoreError> = failWith();

/**
 * Restores a backup into a database: checks every object exists, refuses a non-empty target
 * unless `clean`, then pre-data DDL, parallel `COPY FROM` (each object's sha256 checked before
 * its transaction commits), large objects, post-data DDL (indexes in parallel, then attachments,
 * foreign keys, triggers, rules, policies, comments on large objects), sequence states,
 * materialized view refresh.
 * Triggers and row security do not exist yet while data loads, so neither can change it.
 */
export function restoreBackup(deps: RestoreDeps, input: RestoreInput): ResultAsync<RestoreOutput, RestoreError> {
  return settle(runRestore(deps, input), (e): RestoreError => (deps.signal?.aborted ? interrupted(deps.signal) : unexpected(e, "restore failed")), deps.signal);
}

export const interrupted = (signal: AbortSignal): RestoreError & { _tag: "Interrupted" } => {
  const reason = abortReason(signal);
  return { _tag: "Interrupted", reason, message: `${reason}: the restore stopped` };
};

/** A connection to the target with the session settings, or `TargetConnectFailed`. */
export async function connectTarget(deps: Pick<RestoreDeps, "connect">, name: string): Promise<PgClient> {
  try {
    const client = await deps.connect();
    await applySessionSettings(client);
    return client;
  } catch (cause) {
    const p = describeConnectError(cause, name);
    return fail({ _tag: "TargetConnectFailed", reason: p.reason, message: p.message, retryable: p.retryable });
  }
}

async function runRestore(deps: RestoreDeps, input: RestoreInput): Promise<RestoreOutput> {
  const t0 = performance.now();
  const { store, id } = { store: deps.store, id: input.id };
  const progress: RestoreProgress = { phase: "check", tablesTotal: 0, tablesDone: 0, rows: 0 };
  deps.onProgress?.({ ...progress });
  // Everything about the backup is checked before the target is touched.
  const { manifest, items, roles } = await openBackup(store, id, deps.decryption);
  deps.signal?.throwIfAborted();

  const clients: PgClient[] = [];
  const onAbort = () => clients.forEach((c) => void c.end().catch(() => {}));
  deps.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const main = await connectTarget(deps, input.targetName);
    clients.push(main);
    deps.signal?.throwIfAborted();
    const present = await describeContents(main);
    if (present.length > 0) {
      if (!input.clean) {
        fail({
          _tag: "TargetNotEmpty",
          objects: present,
          message: `target ${input.targetName} is not empty (it has ${present.slice(0, 3).join(", ")}${present.length > 3 ? ", ..." : ""}); restore into an empty database`,
        });
      }
      await cleanDatabase(main);
    }

    // Roles are the server's, not the database's: they come first, so owners, grants and policies find them.
    const rolesReport = input.createRoles ? await createRoles(main, roles, input.createRoles) : undefined;

    progress.phase = "pre-data";
    deps.onProgress?.({ ...progress });
    // In transactions of a bounded size: one for tens of thousands of objects would exhaust the
    // server's lock table (max_locks_per_transaction), as pg_restore's single-transaction mode can.
    const pre = items.filter((i) => i.section === "pre-data");
    for (let from = 0; from < pre.length; from += PRE_DATA_BATCH) {
      await main.query("BEGIN");
      for (const item of pre.slice(from, from + PRE_DATA_BATCH)) await applyItem(main, item);
      await main.query("COMMIT");
    }

    progress.phase = "data";
    progress.tablesTotal = manifest.tables.length;
    deps.onProgress?.({ ...progress });
    const jobs = Math.max(1, Math.min(input.jobs, manifest.tables.length || 1));
    for (let i = 0; i < jobs; i++) clients.push(await connectTarget(deps, input.targetName));
    const workers = clients.slice(1);
    const queue = [...manifest.tables].sort((a, b) => b.rawBytes - a.rawBytes);
    await runPool(workers, queue, async (client, table) => {
      const streaming = { table: `${table.schema}.${table.table}`, rows: 0, rawBytes: 0, expectedRows: table.rows };
      await loadTable(client, store, manifest, table, deps.decryption, (bytes, lines) => {
        streaming.rows += lines;
        streaming.rawBytes += bytes;
        deps.onProgress?.({ ...progress, rows: progress.rows + streaming.rows, streaming: { ...streaming } });
      });
      progress.tablesDone++;
      progress.rows += table.rows;
      deps.onProgress?.({ ...progress, table: `${table.schema}.${table.table}` });
    });

    // Large objects are data: loaded before post-data, where their comments are.
    let largeObjects = 0;
    if (manifest.largeObjects) {
      const lo = manifest.largeObjects;
      const opened = await openChecked(store, manifest, lo, deps.decryption);
      try {
        await main.query("BEGIN");
        largeObjects = await restoreLargeObjects(main, opened);
        await main.query("COMMIT");
      } catch (cause) {
        await main.query("ROLLBACK").catch(() => {});
        fail(corruptObject(lo.key, cause));
      }
    }
    progress.phase = "post-data";
    deps.onProgress?.({ ...progress });
    // In dependency order; index builds that do not depend on one another run side by side.
    for (const batch of postDataBatches(items.filter((i) => i.section === "post-data"))) {
      if (batch.parallel) await runPool(workers, batch.items, applyItem);
      else await applyItem(main, batch.items[0]!);
    }

    progress.phase = "finish";
    deps.onProgress?.({ ...progress });
    for (const s of manifest.sequences) await main.query(setvalSql(s));
    for (const mv of manifest.matviews.filter((v) => v.populated)) {
      await main.query(`REFRESH MATERIALIZED VIEW ${qname(mv.schema, mv.name)}`).catch((cause) =>
        fail({ _tag: "SchemaApplyFailed", object: `materialized view ${mv.schema}.${mv.name}`, message: `refreshing materialized view ${mv.schema}.${mv.name} failed: ${causeMessage(cause)}` }),
      );
    }
    const skippedPrivileges = await applyPrivileges(main, items, { owners: input.owners ?? true, privileges: input.privileges ?? true });
    return { id, manifest, tables: manifest.tables.length, rows: progress.rows, largeObjects, skippedPrivileges, ...(rolesReport ? { roles: rolesReport } : {}), durationMs: Math.round(performance.now() - t0) };
  } finally {
    deps.signal?.removeEventListener("abort", onAbort);
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/**
 * Owners and privileges go last, one statement group at a time: a role the target lacks, or an
 * ALTER OWNER the restoring user may not do, skips that group (reported), never the restore.
 */
async function applyPrivileges(client: PgClient, items: readonly DdlItem[], opts: { owners: boolean; privileges: boolean }): Promise<SkippedPrivilege[]> {
  const wanted = items.filter((i) => i.section === "privileges" && (i.kind === "owner" ? opts.owners : opts.privileges));
  const roles = [...new Set(wanted.flatMap((i) => i.roles ?? []))];
  const existing = new Set((await client.query<{ rolname: string }>("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1)", [roles])).rows.map((r) => r.rolname));
  const skipped: SkippedPrivilege[] = [];
  for (const item of wanted) {
    const object = `${item.kind} ${item.name}`;
    const missing = (item.roles ?? []).filter((r) => !existing.has(r));
    if (missing.length) {
      skipped.push({ object, reason: `role ${missing.join(", ")} does not exist on the target` });
      continue;
    }
    try {
      await client.query(item.sql);
    } catch (cause) {
      skipped.push({ object, reason: causeMessage(cause) });
    }
  }
  return skipped;
}

/**
 * Creates the roles the target lacks (the same statements export-sql and restore-without-cobalt.sh
 * write), then the memberships between them that are missing. A role the restoring user may not
 * create is reported and skipped: its owners and grants are then skipped too, as without it.
 */
async function createRoles(client: PgClient, roles: readonly RoleSpec[], opts: CreateRolesOptions): Promise<RolesReport> {
  const names = async () => new Set((await client.query<{ rolname: string }>("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY ($1::text[])", [[...roles.map((r) => r.name), ...roles.flatMap((r) => r.memberOf.map((m) => m.role))]])).rows.map((r) => r.rolname));
  const before = await names();
  const report: RolesReport = { created: [], existing: roles.filter((r) => before.has(r.name)).map((r) => r.name), memberships: 0, skipped: [] };
  for (const r of roles.filter((x) => !before.has(x.name))) {
    try {
      await client.query(createRoleSql(r, opts));
      report.created.push(r.name);
    } catch (cause) {
      report.skipped.push({ object: `role ${r.name}`, reason: causeMessage(cause) });
    }
  }
  const present = await names();
  for (const r of roles) {
    for (const m of r.memberOf) {
      if (!present.has(r.name) || !present.has(m.role)) continue;
      if ((await client.query<{ e: boolean }>(`SELECT ${DIRECT_MEMBERSHIP} AS e`, [m.role, r.name])).rows[0]!.e) continue;
      try {
        await client.query(grantMembershipSql(r.name, m));
        report.memberships++;
      } catch (cause) {
        report.skipped.push({ object: `membership of ${r.name} in ${m.role}`, reason: causeMessage(cause) });
      }
    }
  }
  return report;
}

/** Runs one schema item, or fails with `SchemaApplyFailed` naming it. */
export async function applyItem(client: PgClient, item: DdlItem): Promise<void> {
  try {
    await client.query(item.sql);
  } catch (cause) {
    fail({ _tag: "SchemaApplyFailed", object: `${item.kind} ${item.name}`, message: `creating ${item.kind} ${item.name} failed: ${causeMessage(cause)}` });
  }
}

async function firstCorrupt(store: BackupStore, manifest: Manifest, parts: readonly TableObject["parts"][number][]): Promise<BackupReadError | undefined> {
  for (const p of parts) {
    const c = await corruptionOf(store, manifest, p);
    if (c) return c;
  }
  return undefined;
}

/**
 * Loads one table in one transaction and one COPY: its parts, in order, as one stream, each part
 * checked against its digest as it ends (a bad one aborts the COPY, so nothing commits). The
 * heap then holds the rows in stream order: what verify's ordered read-back compares.
 */
async function loadTable(client: PgClient, store: BackupStore, manifest: Manifest, table: TableObject, keys: DecryptionKeys | undefined, onChunk: (bytes: number, lines: number) => void): Promise<void> {
  const display = `${table.schema}.${table.table}`;
  let part = table.parts[0]!;
  const parts = async function* () {
    for (part of table.parts) yield* (await openChecked(store, manifest, part, keys)) as AsyncIterable<Buffer>;
  };
  await client.query("BEGIN");
  try {
    // Truncated in the transaction that loads it, the table takes its rows page after page, in
    // stream order (COPY skips the free space map), whatever their sizes.
    await client.query(`TRUNCATE ONLY ${qname(table.schema, table.table)}`);
    await pipeline(Readable.from(parts(), { objectMode: false }), new Meter(onChunk, { hash: false }), client.query(copyFrom(copyFromSql(table))));
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => {});
    if (cause instanceof Failure) throw cause;
    // PostgreSQL may reject a malformed row before the digest at the end of the stream is checked:
    // whether the object is corrupt is then checked on its own, so that corruption is named as such.
    const corrupt = cause instanceof IntegrityError || !(cause as { code?: string }).code ? corruptObject(part.key, cause) : await firstCorrupt(store, manifest, table.parts);
    if (corrupt) fail({ ...corrupt, message: `${corrupt.message} (table ${display}); nothing of it was loaded` });
    fail({ _tag: "LoadFailed", table: display, key: part.key, message: `loading table ${display} from ${part.key} failed: ${causeMessage(cause)}` });
  }
}
