import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { copyFromSql } from "../pg/copy-sql.js";
import { restoreLargeObjects } from "../pg/large-objects.js";
import { setvalSql } from "../pg/sequences.js";
import type { Manifest, TableObject, TablePart } from "../manifest/manifest.js";
import { describeConnectError } from "../pg/connect-error.js";
import { applySessionSettings, type PgClient, type PgConnect } from "../pg/session.js";
import { ident, qname } from "../pg/sql.js";
import { Failure, failWith, type Fail, settle, unexpected, type ResultAsync, type Unexpected } from "../result.js";
import type { DdlItem } from "../schema/model.js";
import { DIRECT_MEMBERSHIP, createRoleSql, grantMembershipSql, type CreateRolesOptions, type RoleSpec } from "../schema/roles.js";
import { corruptionOf, openBackup, openChecked, type BackupReadError } from "../catalog/open-backup.js";
import type { BackupStore } from "../store/backup-store.js";
import { corruptObject } from "../object/read-object.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { abortReason, causeMessage } from "../util/errors.js";
import { IntegrityError, Meter } from "../util/meter.js";
import { selectObjects, type Sections, type Selection, type SelectedObjects, type SelectionError, type SkippedObject } from "../catalog/select-objects.js";
import { ALL_DATA, maintenanceMemoryKb, planRestoreTasks, runTasks, type RestoreTask } from "./restore-tasks.js";
import { cleanDatabase, describeContents, dropObjects, presentObjects } from "./target-contents.js";

/** Why a restore stopped. Errors before `SchemaApplyFailed` leave the target untouched. */
export type RestoreError =
  | BackupReadError
  | { _tag: "TargetConnectFailed"; reason: string; message: string; retryable: boolean }
  | { _tag: "TargetNotEmpty"; objects: string[]; message: string }
  /** A data-only restore found tables it loads missing from the target. */
  | { _tag: "TargetMissing"; objects: string[]; message: string }
  /** A data-only restore would load tables whose triggers the role may not switch off (it does not own them). */
  | { _tag: "TriggersNotOwned"; objects: string[]; message: string }
  | SelectionError
  | { _tag: "SchemaApplyFailed"; object: string; message: string }
  | { _tag: "LoadFailed"; table: string; key: string; message: string }
  /** The signal fired: connections were closed; loads under way were rolled back, committed ones stay. */
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
  /**
   * Load every table as one stream, in one transaction after TRUNCATE, so the heap holds its rows
   * in stream order (verify's read-back compares parts in that order). Default false: the parts of
   * a split table load side by side on several connections.
   */
  orderedLoad?: boolean;
  /** ANALYZE the restored tables, so the planner has statistics from the first query (default true). */
  analyze?: boolean;
  /** Restore part of the backup: selected tables or schemas with what they need (see `selectObjects`). */
  selection?: Selection;
  /** `schema-only`: no rows; `data-only`: only rows (and sequence states), into a target that has the tables. */
  sections?: Sections;
}

/**
 * Wall time of each phase, in ms. Index builds start as soon as their table is loaded, so they
 * overlap the data phase: `postDataMs` is what remained after the last row was loaded, and
 * `analyzeMs` what remained after the last post-data item. `taskMs` sums the work of all
 * connections per kind (it exceeds wall time when connections work side by side).
 */
export interface RestoreTimings {
  checkMs: number;
  preDataMs: number;
  dataMs: number;
  postDataMs: number;
  analyzeMs: number;
  finishMs: number;
  taskMs: { load: number; indexes: number; postData: number; analyze: number };
}

/** What a selective restore did beyond the selected objects. */
export interface SelectionReport {
  tables: string[];
  /** Objects created because a selected one needs them (a sequence, a type, a function). */
  dependencies: string[];
  /** Objects not created: each needs a table neither restored nor in the target (foreign keys, mostly). */
  skipped: SkippedObject[];
  /** Data-only without reference checks: the target's foreign keys from loaded tables to tables not loaded, whose references were not checked. */
  uncheckedForeignKeys?: string[];
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
  /** Present for a selective restore. */
  selection?: SelectionReport;
  /** Tables analyzed at the end. */
  analyzed: number;
  timings: RestoreTimings;
  durationMs: number;
}

/** Pre-data statements per transaction. */
export const PRE_DATA_BATCH = 500;

const fail: Fail<RestoreError> = failWith();

/**
 * Restores a backup, or the part `selection` and `sections` choose, into a database: checks every
 * object exists, refuses a non-empty target unless `clean` (for a selection: a target that has the
 * selected objects), then pre-data DDL, then one dependency graph of work on `jobs` connections
 * (see `planRestoreTasks`): `COPY FROM` of each table (each object's sha256 checked before its
 * transaction commits), large objects, index builds as soon as their table is loaded, the other
 * post-data items once all data is in, foreign keys in parallel without lock conflicts, ANALYZE;
 * then sequence states, materialized view refresh, owners and privileges.
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
  const sections = input.sections ?? "all";
  const progress: RestoreProgress = { phase: "check", tablesTotal: 0, tablesDone: 0, rows: 0 };
  deps.onProgress?.({ ...progress });
  // Everything about the backup is checked before the target is touched.
  const { manifest, items, roles } = await openBackup(store, id, deps.decryption);
  deps.signal?.throwIfAborted();
  const select = (present: ReadonlySet<string>): SelectedObjects => {
    const r = selectObjects(manifest, items, input.selection ?? {}, sections, present);
    return "_tag" in r ? fail(r) : r;
  };
  let chosen = select(new Set());

  const clients: PgClient[] = [];
  const onAbort = () => clients.forEach((c) => void c.end().catch(() => {}));
  deps.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const main = await connectTarget(deps, input.targetName);
    clients.push(main);
    deps.signal?.throwIfAborted();
    if (sections === "data-only") {
      const present = await presentObjects(main);
      const missing = chosen.tables.map((t) => `table ${t.schema}.${t.table}`).filter((t) => !present.has(t));
      if (missing.length) fail({ _tag: "TargetMissing", objects: missing, message: `target ${input.targetName} lacks ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", ..." : ""}: a data-only restore loads rows into tables that exist; restore the schema first` });
      const unowned = await triggersNotOwned(main, chosen.tables);
      if (unowned.length) {
        fail({
          _tag: "TriggersNotOwned",
          objects: unowned,
          message: `${unowned.slice(0, 3).join(", ")}${unowned.length > 3 ? ", ..." : ""} in target ${input.targetName}: their triggers must not fire on the stored rows, and switching them off needs the table's owner or a superuser; restore as the tables' owner`,
        });
      }
    } else if (chosen.whole) {
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
    } else {
      // Only the selected objects must be absent; what they need is used where the target has it.
      chosen = select(await presentObjects(main));
      if (chosen.conflicts.length) {
        const c = chosen.conflicts;
        if (!input.clean) fail({ _tag: "TargetNotEmpty", objects: c, message: `target ${input.targetName} already has ${c.slice(0, 3).join(", ")}${c.length > 3 ? ", ..." : ""}; the objects a selective restore creates must not exist yet` });
        await dropObjects(main, c).catch((cause) => fail({ _tag: "SchemaApplyFailed", object: c.join(", "), message: `dropping ${c.join(", ")} first failed, nothing was dropped: ${causeMessage(cause)}` }));
        chosen = select(await presentObjects(main));
      }
    }
    const checkMs = performance.now() - t0;

    // Roles are the server's, not the database's: they come first, so owners, grants and policies find them.
    const rolesReport = input.createRoles ? await createRoles(main, roles, input.createRoles) : undefined;

    const tPre = performance.now();
    progress.phase = "pre-data";
    deps.onProgress?.({ ...progress });
    // In transactions of a bounded size: one for tens of thousands of objects would exhaust the
    // server's lock table (max_locks_per_transaction), as pg_restore's single-transaction mode can.
    const pre = chosen.items.filter((i) => i.section === "pre-data");
    for (let from = 0; from < pre.length; from += PRE_DATA_BATCH) {
      await main.query("BEGIN");
      for (const item of pre.slice(from, from + PRE_DATA_BATCH)) await applyItem(main, item);
      await main.query("COMMIT");
    }
    const preDataMs = performance.now() - tPre;

    progress.phase = "data";
    progress.tablesTotal = chosen.tables.length;
    deps.onProgress?.({ ...progress });
    const analyze = (input.analyze ?? true) && sections !== "schema-only";
    const tasks = planRestoreTasks({ ...manifest, tables: chosen.tables }, chosen.items, {
      orderedLoad: input.orderedLoad ?? false,
      jobs: input.jobs,
      analyze,
      largeObjects: chosen.whole && sections !== "schema-only" && manifest.largeObjects !== null,
    });
    const append = sections === "data-only";
    const jobs = Math.max(1, Math.min(input.jobs, tasks.length || 1));
    for (let i = 0; i < jobs; i++) clients.push(await connectTarget(deps, input.targetName));
    const workers = clients.slice(1);
    // Rows go into tables whose triggers and foreign keys exist. Where the role may (a superuser,
    // or one granted the setting), no trigger fires and no reference is checked, as pg_restore's
    // disable-triggers option: the rows are the stored ones, and the tables they reference may be
    // left out on purpose. Otherwise references are checked: referenced tables load first.
    let unchecked: string[] | undefined;
    if (append) {
      const replica = (await Promise.all(workers.map((w) => w.query("SET session_replication_role = replica").then(() => true, () => false)))).every(Boolean);
      if (replica) unchecked = await foreignKeysOut(main, chosen.tables);
      else {
        await Promise.all(workers.map((w) => w.query("RESET session_replication_role").catch(() => {})));
        await orderByForeignKeys(main, tasks);
      }
    }
    const memory = await indexBuildMemory(main, jobs);
    // A worker's commits need not wait for the disk: the coordinator's last commit, synchronous,
    // flushes all of them before the restore reports success, and a crash before that means
    // restoring again anyway.
    for (const w of workers) await w.query(`SET maintenance_work_mem = '${memory}kB'; SET synchronous_commit = off`);

    const tData = performance.now();
    const marks = { dataDone: tData, postDone: tData };
    const taskMs = { load: 0, indexes: 0, postData: 0, analyze: 0 };
    const partsLeft = new Map(chosen.tables.map((t) => [t, tasks.filter((k) => k.work.kind === "data" && k.work.table === t).length]));
    const optional = new Set(chosen.optional);
    const skipped: SkippedObject[] = [...chosen.skipped];
    let largeObjects = 0;
    let analyzed = 0;
    await runTasks(workers, tasks, async (client, task) => {
      const started = performance.now();
      const w = task.work;
      if (w.kind === "data") {
        const streaming = { table: `${w.table.schema}.${w.table.table}`, rows: 0, rawBytes: 0, expectedRows: w.parts.reduce((n, p) => n + p.rows, 0) };
        await loadTable(client, store, manifest, w.table, w.parts, { ordered: w.ordered, append, replica: unchecked !== undefined }, deps.decryption, (bytes, lines) => {
          streaming.rows += lines;
          streaming.rawBytes += bytes;
          deps.onProgress?.({ ...progress, rows: progress.rows + streaming.rows, streaming: { ...streaming } });
        });
        taskMs.load += performance.now() - started;
        progress.rows += streaming.expectedRows;
        const left = partsLeft.get(w.table)! - 1;
        partsLeft.set(w.table, left);
        if (left === 0) progress.tablesDone++;
        deps.onProgress?.({ ...progress, ...(left === 0 ? { table: streaming.table } : {}) });
        marks.dataDone = performance.now();
      } else if (w.kind === "large-objects") {
        largeObjects = await loadLargeObjects(client, store, manifest, deps.decryption);
        marks.dataDone = performance.now();
      } else if (w.kind === "post-data") {
        if (progress.phase === "data" && task.id !== ALL_DATA && task.deps.includes(ALL_DATA)) {
          progress.phase = "post-data";
          deps.onProgress?.({ ...progress });
        }
        try {
          await applyItem(client, w.item);
        } catch (cause) {
          // A foreign key into a restored table from one the target had: its rows may not match.
          if (!optional.has(w.item.id) || !(cause instanceof Failure)) throw cause;
          skipped.push({ object: w.item.id, missing: [cause.message] });
        }
        if (isIndexBuild(task)) taskMs.indexes += performance.now() - started;
        else taskMs.postData += performance.now() - started;
        marks.postDone = performance.now();
      } else {
        await client.query(`ANALYZE ${qname(w.table.schema, w.table.table)}`);
        analyzed++;
        taskMs.analyze += performance.now() - started;
      }
    });
    const tasksDone = performance.now();
    marks.postDone = Math.max(marks.postDone, marks.dataDone);

    const tFinish = performance.now();
    progress.phase = "finish";
    deps.onProgress?.({ ...progress });
    for (const s of chosen.sequences) await main.query(setvalSql(s));
    for (const mv of chosen.matviews.filter((v) => v.populated)) {
      await main.query(`REFRESH MATERIALIZED VIEW ${qname(mv.schema, mv.name)}`).catch((cause) =>
        fail({ _tag: "SchemaApplyFailed", object: `materialized view ${mv.schema}.${mv.name}`, message: `refreshing materialized view ${mv.schema}.${mv.name} failed: ${causeMessage(cause)}` }),
      );
    }
    const skippedPrivileges = await applyPrivileges(main, chosen.items, { owners: input.owners ?? true, privileges: input.privileges ?? true });
    // A transaction with an id commits synchronously: the workers' commits are on disk after it.
    await main.query("SELECT pg_catalog.pg_current_xact_id()");
    const end = performance.now();
    const timings: RestoreTimings = {
      checkMs: Math.round(checkMs),
      preDataMs: Math.round(preDataMs),
      dataMs: Math.round(marks.dataDone - tData),
      postDataMs: Math.round(marks.postDone - marks.dataDone),
      analyzeMs: Math.round(tasksDone - marks.postDone),
      finishMs: Math.round(end - tFinish),
      taskMs: { load: Math.round(taskMs.load), indexes: Math.round(taskMs.indexes), postData: Math.round(taskMs.postData), analyze: Math.round(taskMs.analyze) },
    };
    const selection: SelectionReport | undefined =
      chosen.whole && !unchecked?.length
        ? undefined
        : { tables: chosen.tables.map((t) => `${t.schema}.${t.table}`), dependencies: chosen.dependencies, skipped, ...(unchecked ? { uncheckedForeignKeys: unchecked } : {}) };
    return {
      id,
      manifest,
      tables: chosen.tables.length,
      rows: progress.rows,
      largeObjects,
      skippedPrivileges,
      ...(rolesReport ? { roles: rolesReport } : {}),
      ...(selection ? { selection } : {}),
      analyzed,
      timings,
      durationMs: Math.round(end - t0),
    };
  } finally {
    deps.signal?.removeEventListener("abort", onAbort);
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

const isIndexBuild = (task: RestoreTask): boolean => task.work.kind === "post-data" && !task.deps.includes(ALL_DATA);

/** The server's memory settings, read for `maintenanceMemoryKb`. */
async function indexBuildMemory(client: PgClient, jobs: number): Promise<number> {
  const r = await client.query<{ current: string; cache: string; shared: string }>(
    `SELECT pg_catalog.pg_size_bytes(pg_catalog.current_setting('maintenance_work_mem'))::text AS current,
            pg_catalog.pg_size_bytes(pg_catalog.current_setting('effective_cache_size'))::text AS cache,
            pg_catalog.pg_size_bytes(pg_catalog.current_setting('shared_buffers'))::text AS shared`,
  );
  const row = r.rows[0]!;
  return maintenanceMemoryKb(jobs, { current: Number(row.current), effectiveCache: Number(row.cache), sharedBuffers: Number(row.shared) });
}

/**
 * A data-only load goes into tables whose foreign keys exist: each table waits for the tables it
 * references among those loaded (an edge closing a loop is left out: such a loop loads in any
 * order, and a row whose reference is not there yet fails the load, named).
 */
async function orderByForeignKeys(client: PgClient, tasks: RestoreTask[]): Promise<void> {
  const data = tasks.filter((t) => t.work.kind === "data");
  const names = [...new Set(data.map((t) => t.locks[0]!.slice("table ".length)))];
  const r = await client.query<{ from: string; to: string }>(
    `SELECT DISTINCT fn.nspname || '.' || f.relname AS from, tn.nspname || '.' || t.relname AS to
       FROM pg_catalog.pg_constraint k
       JOIN pg_catalog.pg_class f ON f.oid = k.conrelid JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
       JOIN pg_catalog.pg_class t ON t.oid = k.confrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
      WHERE k.contype = 'f' AND k.conrelid <> k.confrelid
        AND fn.nspname || '.' || f.relname = ANY ($1) AND tn.nspname || '.' || t.relname = ANY ($1)`,
    [names],
  );
  const kept = new Map<string, Set<string>>();
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
    from === to || [...(kept.get(from) ?? [])].some((n) => !seen.has(n) && (seen.add(n), reaches(n, to, seen)));
  for (const e of r.rows) {
    if (reaches(e.to, e.from)) continue;
    kept.set(e.from, (kept.get(e.from) ?? new Set()).add(e.to));
  }
  const idsOf = (table: string) => data.filter((t) => t.locks[0] === `table ${table}`).map((t) => t.id);
  for (const t of data) for (const to of kept.get(t.locks[0]!.slice("table ".length)) ?? []) t.deps.push(...idsOf(to));
}

/**
 * The triggers on `tables` that a data-only load would switch off and the role may not: those
 * that would fire (only ENABLE ALWAYS ones where the role may set session_replication_role) on
 * tables it does not own, as `trigger schema.table.name`. Checked before any row is loaded.
 */
async function triggersNotOwned(client: PgClient, tables: readonly TableObject[]): Promise<string[]> {
  const replica = await client.query("SET session_replication_role = replica").then(
    () => client.query("RESET session_replication_role").then(() => true),
    () => false,
  );
  const r = await client.query<{ id: string }>(
    `SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname AS id
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND ${replica ? "t.tgenabled = 'A'" : "t.tgenabled <> 'D'"}
        AND n.nspname || '.' || c.relname = ANY ($1)
        AND NOT pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
      ORDER BY 1`,
    [tables.map((t) => `${t.schema}.${t.table}`)],
  );
  return r.rows.map((x) => x.id);
}

/** The target's foreign keys from `tables` to tables not among them, as `fk constraint schema.table.name`. */
async function foreignKeysOut(client: PgClient, tables: readonly TableObject[]): Promise<string[]> {
  const names = tables.map((t) => `${t.schema}.${t.table}`);
  const r = await client.query<{ id: string }>(
    `SELECT 'fk constraint ' || fn.nspname || '.' || f.relname || '.' || k.conname AS id
       FROM pg_catalog.pg_constraint k
       JOIN pg_catalog.pg_class f ON f.oid = k.conrelid JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
       JOIN pg_catalog.pg_class t ON t.oid = k.confrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
      WHERE k.contype = 'f' AND fn.nspname || '.' || f.relname = ANY ($1) AND NOT (tn.nspname || '.' || t.relname = ANY ($1))
      ORDER BY 1`,
    [names],
  );
  return r.rows.map((x) => x.id);
}

async function loadLargeObjects(client: PgClient, store: BackupStore, manifest: Manifest, keys: DecryptionKeys | undefined): Promise<number> {
  const lo = manifest.largeObjects!;
  // Large objects are data: loaded before post-data, where their comments are.
  const opened = await openChecked(store, manifest, lo, keys);
  try {
    await client.query("BEGIN");
    const n = await restoreLargeObjects(client, opened);
    await client.query("COMMIT");
    return n;
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => {});
    return fail(corruptObject(lo.key, cause));
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

async function firstCorrupt(store: BackupStore, manifest: Manifest, parts: readonly TablePart[]): Promise<BackupReadError | undefined> {
  for (const p of parts) {
    const c = await corruptionOf(store, manifest, p);
    if (c) return c;
  }
  return undefined;
}

/**
 * Loads rows of one table in one transaction and one COPY: `parts`, in order, as one stream,
 * each part checked against its digest as it ends (a bad one aborts the COPY, so nothing
 * commits). `ordered` (a whole table): after TRUNCATE in the same transaction, with FREEZE, so
 * the heap holds the rows in stream order (what verify's ordered read-back compares) and they
 * need no later freezing. `append` (data-only): into a table that exists and may hold rows, its
 * user triggers disabled for the load (restored rows are the stored ones) and enabled as they were
 * (in `replica` mode, the session fires none but ENABLE ALWAYS ones already).
 */
async function loadTable(
  client: PgClient,
  store: BackupStore,
  manifest: Manifest,
  table: TableObject,
  parts: readonly TablePart[],
  mode: { ordered: boolean; append: boolean; replica?: boolean },
  keys: DecryptionKeys | undefined,
  onChunk: (bytes: number, lines: number) => void,
): Promise<void> {
  const display = `${table.schema}.${table.table}`;
  const name = qname(table.schema, table.table);
  let part = parts[0]!;
  const stream = async function* () {
    for (part of parts) yield* (await openChecked(store, manifest, part, keys)) as AsyncIterable<Buffer>;
  };
  await client.query("BEGIN");
  try {
    let triggers: { tgname: string; tgenabled: string }[] = [];
    if (mode.append) {
      triggers = (await client.query<{ tgname: string; tgenabled: string }>(
        // In replica mode only ENABLE ALWAYS triggers would fire.
        `SELECT tgname, tgenabled FROM pg_catalog.pg_trigger WHERE tgrelid = $1::pg_catalog.regclass AND NOT tgisinternal AND tgenabled ${mode.replica ? "= 'A'" : "<> 'D'"}`, [name],
      )).rows;
      for (const t of triggers) await client.query(`ALTER TABLE ${name} DISABLE TRIGGER ${ident(t.tgname)}`);
    } else if (mode.ordered) {
      // Truncated in the transaction that loads it, the table takes its rows page after page, in
      // stream order (COPY skips the free space map), whatever their sizes, frozen.
      await client.query(`TRUNCATE ONLY ${name}`);
    }
    const copy = `${copyFromSql(table)}${mode.ordered && !mode.append ? " WITH (FREEZE)" : ""}`;
    await pipeline(Readable.from(stream(), { objectMode: false }), new Meter(onChunk, { hash: false }), client.query(copyFrom(copy)));
    for (const t of triggers) await client.query(`ALTER TABLE ${name} ${FIRING[t.tgenabled] ?? "ENABLE"} TRIGGER ${ident(t.tgname)}`);
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => {});
    if (cause instanceof Failure) throw cause;
    // PostgreSQL may reject a malformed row before the digest at the end of the stream is checked:
    // whether the object is corrupt is then checked on its own, so that corruption is named as such.
    const corrupt = cause instanceof IntegrityError || !(cause as { code?: string }).code ? corruptObject(part.key, cause) : await firstCorrupt(store, manifest, parts);
    const lost = parts.length === table.parts.length ? "nothing of it was loaded" : "this part of it was not loaded";
    if (corrupt) fail({ ...corrupt, message: `${corrupt.message} (table ${display}); ${lost}` });
    fail({ _tag: "LoadFailed", table: display, key: part.key, message: `loading table ${display} from ${part.key} failed: ${causeMessage(cause)}` });
  }
}

const FIRING: Record<string, string> = { O: "ENABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" };
