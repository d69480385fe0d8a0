import type { Readable } from "node:stream";
import { to as copyTo } from "pg-copy-streams";
import { MANIFEST_FORMAT, MANIFEST_KEY, type Manifest, type TableObject } from "../manifest/manifest.js";
import { describeConnectError } from "../pg/connect-error.js";
import { qname } from "../pg/sql.js";
import { applySessionSettings, SESSION_SETTINGS, type PgClient, type PgConnect } from "../pg/session.js";
import { Failure, failWith, type Fail, settle, unexpected, type ResultAsync, type Unexpected } from "../result.js";
import { captureSchema } from "../schema/capture.js";
import type { SchemaError } from "../schema/errors.js";
import { inventoryOf } from "../schema/inventory.js";
import type { SchemaCapture } from "../schema/model.js";
import { backupPrefix, newBackupId } from "../object/backup-id.js";
import { encryptionRecord, objectSuffix, type ObjectEncoding } from "../object/encoding.js";
import type { EncryptionKeys } from "../object/encryption.js";
import { writeObject } from "../object/write-object.js";
import type { Compression } from "../object/compression.js";
import { copyToSql } from "../pg/copy-sql.js";
import { largeObjectStream, listLargeObjects } from "../pg/large-objects.js";
import { readSequenceStates } from "../pg/sequences.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";
import { abortReason, causeMessage } from "../util/errors.js";
import { readableOf } from "../util/readable.js";
import { copyPlan } from "./copy-plan.js";

/** Why a dump stopped. Nothing is committed (no manifest) after any of these. */
export type DumpError =
  | { _tag: "SourceConnectFailed"; reason: string; message: string; retryable: boolean }
  | { _tag: "SnapshotFailed"; message: string }
  | { _tag: "SchemaCaptureFailed"; schemaError: SchemaError; message: string }
  | { _tag: "CopyFailed"; table: string; message: string; retryable: boolean }
  | { _tag: "LargeObjectsFailed"; message: string; retryable: boolean }
  | { _tag: "StoreFailed"; storeError: StoreError; message: string }
  /** The signal fired: every upload was aborted and what was written deleted. */
  | { _tag: "Interrupted"; reason: string; message: string }
  | Unexpected;

export interface DumpProgress {
  phase: "schema" | "data" | "large-objects" | "commit";
  tablesTotal: number;
  tablesDone: number;
  rows: number;
  rawBytes: number;
  storedBytes: number;
  /** The table that just finished, when one did. */
  table?: string;
  /** A table still streaming, and how far it got: reported as its COPY text arrives. */
  streaming?: { table: string; rows: number; rawBytes: number };
}

export interface DumpDeps {
  /** Opens a connection to the source database; called once per worker plus one coordinator. */
  connect: PgConnect;
  store: BackupStore;
  tool: { name: string; version: string };
  now?: () => Date;
  /** Called at each phase, each finished table, and each chunk read from a table (throttle it). */
  onProgress?: (p: DumpProgress) => void;
  /**
   * Stops the dump: connections are closed, uploads aborted, what was written deleted; the
   * result is an `Interrupted` error once all of that is done.
   */
  signal?: AbortSignal;
}

export interface DumpInput {
  jobs: number;
  compression: Compression;
  compressionLevel?: number;
  /** The store keeps every object until then (S3 Object Lock); recorded for prune. */
  lockUntil?: Date;
  /** Encrypt every object but the manifest for these age recipients (on whenever given). */
  encryption?: EncryptionKeys;
  /** How the source is described in the manifest; never contains a password. */
  source: { kind: "postgres-url" | "rds-snapshot"; host: string; port: number; database: string; user: string; instance?: string; snapshotId?: string };
}

export interface DumpOutput {
  id: string;
  manifest: Manifest;
}

const fail: Fail<DumpError> = failWith();

/**
 * Streams a consistent backup of one database into a store: every worker reads the same
 * exported snapshot (REPEATABLE READ, READ ONLY), tables largest first, each COPY stream
 * counted, hashed, compressed and hashed again on its way to the store; `manifest.json` last.
 * On any failure, and when `deps.signal` fires, every connection is closed, every upload aborted,
 * what was written is deleted, and no manifest exists; only then does the result settle.
 */
export function streamDump(deps: DumpDeps, input: DumpInput): ResultAsync<DumpOutput, DumpError> {
  return settle(runDump(deps, input), (e): DumpError => {
    if (deps.signal?.aborted) {
      const reason = abortReason(deps.signal);
      return { _tag: "Interrupted", reason, message: `${reason}: what the backup had written was deleted` };
    }
    return unexpected(e, "backup failed");
  }, deps.signal);
}

async function connectTo(connect: PgConnect, what: string): Promise<PgClient> {
  try {
    const client = await connect();
    await applySessionSettings(client);
    return client;
  } catch (cause) {
    const p = describeConnectError(cause, what);
    return fail({ _tag: "SourceConnectFailed", reason: p.reason, message: p.message, retryable: p.retryable });
  }
}

async function runDump(deps: DumpDeps, input: DumpInput): Promise<DumpOutput> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  const signal = deps.signal;
  const writable = await deps.store.checkWritable();
  if (writable.isErr()) fail({ _tag: "StoreFailed", storeError: writable.error, message: writable.error.message });
  signal?.throwIfAborted();

  const clients: PgClient[] = [];
  const written: string[] = [];
  const id = newBackupId(input.source.database, started);
  const prefix = backupPrefix(id);
  const ext = objectSuffix(input);
  let committed = false;
  let firstError: unknown;
  /** Records the first failure and closes every connection, so no worker starts or finishes more work. */
  const stopAll = (error: unknown): undefined => {
    if (firstError !== undefined) return;
    firstError = error;
    for (const c of clients) void c.end().catch(() => {});
  };
  const onAbort = () => stopAll(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const coordinator = await connectTo(deps.connect, `source database ${input.source.database}`);
    clients.push(coordinator);
    signal?.throwIfAborted();
    const info = await exportSnapshot(coordinator);
    const progress: DumpProgress = { phase: "schema", tablesTotal: 0, tablesDone: 0, rows: 0, rawBytes: 0, storedBytes: 0 };
    deps.onProgress?.({ ...progress });

    const captured = await captureSchema(coordinator);
    if (captured.isErr()) fail({ _tag: "SchemaCaptureFailed", schemaError: captured.error, message: captured.error.message });
    const schema = (captured as { value: SchemaCapture }).value;
    await lockTables(coordinator, schema);
    const schemaMs = performance.now() - t0;

    /** Writes one object (see writeObject); a store failure is the dump's, any other is the caller's to name. */
    const storeStream = async (key: string, source: Readable, onRaw?: (bytes: number, lines: number) => void, expectedBytes?: number, plain = false) => {
      const encoding: ObjectEncoding = plain ? { compression: "none" } : { compression: input.compression, compressionLevel: input.compressionLevel, encryption: input.encryption };
      const r = await writeObject(deps.store, key, source, { ...encoding, expectedBytes, signal, onRaw, onStored: plain ? undefined : (b) => void (progress.storedBytes += b) });
      if (r.isErr()) return r.error._tag === "StoreFailed" ? fail({ _tag: "StoreFailed", storeError: r.error.storeError, message: r.error.message }) : Promise.reject(r.error.cause);
      written.push(key);
      return r.value;
    };

    const schemaKey = `${prefix}schema.json${ext}`;
    const schemaResult = await storeStream(schemaKey, readableOf(JSON.stringify({ items: schema.items, roles: schema.roles })));

    // Data: workers share the coordinator's snapshot; largest tables first.
    const plan = copyPlan(schema.tables);
    progress.phase = "data";
    progress.tablesTotal = plan.length;
    deps.onProgress?.({ ...progress });
    const jobs = Math.max(1, Math.min(input.jobs, plan.length));
    for (let i = 0; i < jobs && plan.length > 0; i++) {
      const worker = await connectTo(deps.connect, `source database ${input.source.database} (worker ${i + 1})`);
      clients.push(worker);
      try {
        await worker.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        await worker.query(`SET TRANSACTION SNAPSHOT '${info.snapshot}'`);
      } catch (cause) {
        fail({ _tag: "SnapshotFailed", message: `a worker could not join the exported snapshot: ${causeMessage(cause)}` });
      }
    }
    signal?.throwIfAborted();
    const tables: TableObject[] = new Array(plan.length);
    const copyTable = async (client: PgClient, entry: (typeof plan)[number]) => {
      const { table, key } = { table: entry.table, key: `${prefix}data/${entry.file}.copy${ext}` };
      const display = `${table.schema}.${table.name}`;
      try {
        const copy = client.query(copyTo(copyToSql(table)));
        const streaming = { table: display, rows: 0, rawBytes: 0 };
        // COPY text can be twice the heap size (bytea as hex): a generous estimate for part sizing.
        const r = await storeStream(key, copy, (bytes, lines) => {
          progress.rawBytes += bytes;
          progress.rows += lines;
          streaming.rows += lines;
          streaming.rawBytes += bytes;
          deps.onProgress?.({ ...progress, streaming: { ...streaming } });
        }, table.sizeBytes * 2);
        tables[entry.order] = {
          kind: "table-data",
          key: key.slice(prefix.length),
          schema: table.schema,
          table: table.name,
          columns: table.columns,
          rows: r.rawLines,
          rawBytes: r.rawBytes,
          rawSha256: r.rawSha256,
          bytes: r.bytes,
          sha256: r.sha256,
        };
        progress.tablesDone++;
        deps.onProgress?.({ ...progress, table: display });
      } catch (cause) {
        throw cause instanceof Failure ? cause : new Failure<DumpError>({ _tag: "CopyFailed", table: display, message: `reading table ${display} failed: ${causeMessage(cause)}`, retryable: true });
      }
    };
    // Tables a worker cannot lock at once are copied by the coordinator, which has held their lock from the start.
    const deferred: (typeof plan)[number][] = [];
    let next = 0;
    const workerLoop = async (client: PgClient) => {
      while (firstError === undefined) {
        const entry = plan[next++];
        if (!entry) return;
        try {
          if (await lockNowait(client, entry.table)) await copyTable(client, entry);
          else deferred.push(entry);
        } catch (cause) {
          stopAll(cause instanceof Failure ? cause : new Failure<DumpError>({ _tag: "CopyFailed", table: `${entry.table.schema}.${entry.table.name}`, message: `locking table ${entry.table.schema}.${entry.table.name} failed: ${causeMessage(cause)}`, retryable: true }));
          return;
        }
      }
    };
    const dataStart = performance.now();
    const workers = clients.slice(1).map((c) => workerLoop(c));

    // Large objects and sequence states are read by the coordinator, in the same snapshot, while
    // the workers copy tables.
    const coordinatorWork = (async () => {
      const oids = await listLargeObjects(coordinator);
      let largeObjects: Manifest["largeObjects"] = null;
      if (oids.length > 0) {
        try {
          const r = await storeStream(`${prefix}large-objects${ext}`, largeObjectStream(coordinator, oids));
          largeObjects = { kind: "large-objects", key: `large-objects${ext}`, count: oids.length, rawBytes: r.rawBytes, rawSha256: r.rawSha256, bytes: r.bytes, sha256: r.sha256 };
        } catch (cause) {
          if (cause instanceof Failure) throw cause;
          fail({ _tag: "LargeObjectsFailed", message: `reading large objects failed: ${causeMessage(cause)}`, retryable: true });
        }
      }
      return { largeObjects, sequences: await readSequenceStates(coordinator, schema.sequences) };
    })();
    const [coordinatorResult] = await Promise.allSettled([coordinatorWork.catch((e) => stopAll(e)), ...workers]);
    for (const entry of deferred) {
      if (firstError !== undefined) break;
      await copyTable(coordinator, entry).catch(stopAll);
    }
    // Whatever failed first is the cause; errors after it are consequences of stopping.
    if (firstError !== undefined) throw firstError;
    if (coordinatorResult.status === "rejected") throw coordinatorResult.reason;
    const { largeObjects, sequences } = coordinatorResult.value!;
    const dataMs = performance.now() - dataStart;

    for (const c of clients) await c.query("COMMIT").catch(() => {});
    progress.phase = "commit";
    deps.onProgress?.({ ...progress });

    const completed = now();
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      tool: deps.tool,
      id,
      startedAt: started.toISOString(),
      completedAt: completed.toISOString(),
      source: { ...input.source, serverVersion: info.serverVersion, serverVersionNum: info.serverVersionNum, encoding: info.encoding, snapshotTime: info.snapshotTime, databaseBytes: info.databaseBytes },
      settings: { jobs: input.jobs, compression: input.compression, ...(input.compressionLevel !== undefined ? { compressionLevel: input.compressionLevel } : {}), session: { ...SESSION_SETTINGS } },
      compression: input.compression,
      lockUntil: input.lockUntil ? input.lockUntil.toISOString() : null,
      encryption: encryptionRecord(input.encryption),
      schema: { kind: "schema", key: schemaKey.slice(prefix.length), items: schema.items.length, bytes: schemaResult.bytes, sha256: schemaResult.sha256 },
      tables,
      largeObjects,
      sequences,
      matviews: schema.matviews,
      inventory: inventoryOf(schema.items),
      totals: {
        tables: tables.length,
        rows: tables.reduce((s, t) => s + t.rows, 0),
        rawBytes: tables.reduce((s, t) => s + t.rawBytes, 0),
        storedBytes: tables.reduce((s, t) => s + t.bytes, 0) + schemaResult.bytes + (largeObjects?.bytes ?? 0),
      },
      timings: { schemaMs: Math.round(schemaMs), dataMs: Math.round(dataMs), totalMs: Math.round(performance.now() - t0) },
    };
    // The commit: a backup exists once, and only once, this object does.
    signal?.throwIfAborted();
    await storeStream(`${prefix}${MANIFEST_KEY}`, readableOf(JSON.stringify(manifest, null, 2)), undefined, undefined, true);
    committed = true;
    return { id, manifest };
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    // Best effort: what cannot be deleted now is an unfinished backup, which prune collects.
    if (!committed && written.length > 0) await deps.store.delete(written).match(() => {}, () => {});
  }
}

/**
 * Takes a worker's lock on a table with NOWAIT, as pg_dump's workers do. The coordinator has held
 * an ACCESS SHARE lock on every table since the start, so a DDL statement (ALTER TABLE) that came
 * since then waits for it; a worker's plain lock would queue behind that statement and wait for
 * the end of the backup, which waits for the worker. False: the table is the coordinator's to copy.
 */
async function lockNowait(client: PgClient, table: { schema: string; name: string }): Promise<boolean> {
  try {
    await client.query(`SAVEPOINT cobalt_lock; LOCK TABLE ${qname(table.schema, table.name)} IN ACCESS SHARE MODE NOWAIT; RELEASE SAVEPOINT cobalt_lock`);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code !== "55P03") throw e;
    await client.query("ROLLBACK TO SAVEPOINT cobalt_lock; RELEASE SAVEPOINT cobalt_lock");
    return false;
  }
}

interface SnapshotInfo {
  snapshot: string;
  serverVersion: string;
  serverVersionNum: number;
  encoding: string;
  snapshotTime: string;
  databaseBytes: number;
}

async function exportSnapshot(client: PgClient): Promise<SnapshotInfo> {
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const r = await client.query<{ snapshot: string; version: string; num: string; encoding: string; at: Date; size: string }>(
      `SELECT pg_catalog.pg_export_snapshot() AS snapshot, current_setting('server_version') AS version,
              current_setting('server_version_num') AS num, pg_catalog.pg_encoding_to_char(d.encoding) AS encoding,
              pg_catalog.now() AS at, pg_catalog.pg_database_size(d.oid) AS size
         FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
    );
    const row = r.rows[0]!;
    return { snapshot: row.snapshot, serverVersion: row.version, serverVersionNum: Number(row.num), encoding: row.encoding, snapshotTime: new Date(row.at).toISOString(), databaseBytes: Number(row.size) };
  } catch (cause) {
    return fail({ _tag: "SnapshotFailed", message: `could not start a consistent snapshot on the source: ${causeMessage(cause)}` });
  }
}

/** ACCESS SHARE locks, as pg_dump takes: concurrent DDL waits until the dump is done. */
async function lockTables(client: PgClient, schema: SchemaCapture): Promise<void> {
  const names = schema.tables.map((t) => qname(t.schema, t.name));
  for (let i = 0; i < names.length; i += 500) {
    await client.query(`LOCK TABLE ${names.slice(i, i + 500).join(", ")} IN ACCESS SHARE MODE`);
  }
}
