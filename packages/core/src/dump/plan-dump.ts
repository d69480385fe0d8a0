import { inventoryOf } from "../schema/inventory.js";
import { captureSchema } from "../schema/capture.js";
import type { SchemaCapture, TableData } from "../schema/model.js";
import { MANIFEST_KEY, type BackupSource } from "../manifest/manifest.js";
import { applySessionSettings, type PgClient, type PgConnect } from "../pg/session.js";
import { QueryPool, type Queryable } from "../pg/query-pool.js";
import { describeConnectError } from "../pg/connect-error.js";
import { causeMessage } from "../util/errors.js";
import { ident, qname } from "../pg/sql.js";
import type { ResultAsync } from "../result.js";
import { backupPrefix } from "../object/backup-id.js";
import type { BackupStore } from "../store/backup-store.js";
import { readableOf } from "../util/readable.js";
import { chunkRanges, defaultSplitThreshold, type ChunkRange } from "./chunks.js";
import { fail, settleDump, writeOrThrow, type DumpError } from "./dump-errors.js";
import { PLAN_FORMAT, PLAN_KEY, UNITS_KEY, dumpPlanSchema, type DataPlan, type DumpPlan, type PlanUnit } from "./dump-plan.js";
import type { EncryptionKeys } from "../object/encryption.js";
import { readSequenceStates } from "../pg/sequences.js";
import { encryptionRecord, objectSuffix, type ObjectEncoding } from "../object/encoding.js";
import type { Compression } from "../object/compression.js";

/** How the source is described in plans and manifests; never holds a password. */
export type SourceDescription = Pick<BackupSource, "kind" | "host" | "port" | "database" | "user" | "instance" | "snapshotId">;

/** What a backup is written with; the same for every unit, whoever runs it. */
export interface DumpSettings {
  compression: Compression;
  compressionLevel?: number;
  /** age recipients or a passphrase: every object but the plan, markers and manifest is encrypted. */
  encryption?: EncryptionKeys;
  /** The store keeps every object until then (S3 Object Lock). */
  lockUntil?: Date;
  /** Tables larger than this many heap bytes are split into chunks (default: from jobs and sizes). */
  splitLargerThan?: number;
  jobs: number;
}

export interface PlanInput {
  id: string;
  /** Only a frozen source (nothing writes to it) can be planned by itself; a live one goes through streamDump. */
  consistency: "frozen";
  source: SourceDescription;
  settings: DumpSettings;
}

/** The plan as a state machine sees it: small, and where the rest is. */
export interface PlanSummary {
  id: string;
  planKey: string;
  /** `[{ "unit": 0 }, ...]`: the items of a Map over the units. */
  unitsKey: string;
  units: number;
  tables: number;
  /** The plan already existed: an interrupted backup is being continued. */
  resumed: boolean;
}

export interface PlanDeps {
  connect: PgConnect;
  store: BackupStore;
  now?: () => Date;
  signal?: AbortSignal;
}

/**
 * Plans a backup of a frozen source: captures the schema, sizes the tables, splits the big ones
 * into chunks and stores `plan.json`, `units.json` and the schema object under the backup's
 * prefix, reading everything in one REPEATABLE READ transaction. When a plan already exists for
 * the id (an interrupted backup), it is reused as it is, provided it was made from the same
 * snapshot: units already done then need not run again.
 */
export function planDump(deps: PlanDeps, input: PlanInput): ResultAsync<PlanSummary, DumpError> {
  return settleDump(
    (async () => {
      const existing = await readPlan(deps.store, input.id);
      if (existing) return summary(checkResumable(existing, input), true);
      const client = await connectSource(deps.connect, `source database ${input.source.database}`);
      try {
        await freeze(client);
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        const plan = await makePlan(client, deps.store, { ...input, startedAt: (deps.now ?? (() => new Date()))(), signal: deps.signal });
        await client.query("COMMIT");
        return summary(plan, false);
      } finally {
        await client.end().catch(() => {});
      }
    })(),
    deps.signal,
  );
}

/**
 * Makes the frozen source refuse writes from any new session (default_transaction_read_only on
 * its database), on top of what keeps clients away (a private instance, a fresh password). Best
 * effort: a user who may not alter the database leaves it to those.
 */
export async function freeze(client: PgClient): Promise<void> {
  await client
    .query(`DO $cobalt$ BEGIN EXECUTE pg_catalog.format('ALTER DATABASE %I SET default_transaction_read_only = on', pg_catalog.current_database()); END $cobalt$`)
    .catch(() => {});
}

const summary = (plan: DumpPlan, resumed: boolean): PlanSummary => ({
  id: plan.id,
  planKey: `${backupPrefix(plan.id)}${PLAN_KEY}`,
  unitsKey: `${backupPrefix(plan.id)}${UNITS_KEY}`,
  units: plan.units.length,
  tables: plan.tables.length,
  resumed,
});

/** A stored plan continues only as what it was made: a frozen source, the same snapshot. */
export function checkResumable(plan: DumpPlan, input: { id: string; source: SourceDescription }): DumpPlan {
  if (plan.consistency !== "frozen") {
    fail({ _tag: "ResumeRefused", id: plan.id, message: `backup ${plan.id} was taken from a live source, whose snapshot ended with the process that held it: it cannot be continued, start a new backup` });
  }
  if (input.source.snapshotId && plan.source.snapshotId !== input.source.snapshotId) {
    fail({ _tag: "ResumeRefused", id: plan.id, message: `backup ${plan.id} was planned from snapshot ${plan.source.snapshotId ?? "(none)"}, not ${input.source.snapshotId}: continuing it would mix two snapshots` });
  }
  return plan;
}

export async function connectSource(connect: PgConnect, what: string): Promise<PgClient> {
  let client: PgClient | undefined;
  try {
    client = await connect();
    await applySessionSettings(client);
    return client;
  } catch (cause) {
    await client?.end().catch(() => {});
    // Let in, or being let in, when the server ended the session (an administrator, a shutdown,
    // class 57P): a failure of the run, not of what the operator gave.
    if (client || String((cause as { code?: unknown }).code ?? "").startsWith("57P")) {
      return fail({ _tag: "SnapshotFailed", message: `${what} ended the session as it started: ${causeMessage(cause)}` });
    }
    const p = describeConnectError(cause, what);
    return fail({ _tag: "SourceConnectFailed", reason: p.reason, message: p.message, retryable: p.retryable });
  }
}

/**
 * The newest unfinished backup (a plan, no manifest) of a frozen source made from this snapshot:
 * the one to continue rather than start again. Undefined when there is none.
 */
export async function findResumableBackup(store: BackupStore, source: { instance: string; snapshotId: string }): Promise<string | undefined> {
  const listed = await store.list("");
  if (listed.isErr()) return undefined;
  const keys = new Set(listed.value.map((o) => o.key));
  const candidates = [...keys]
    .filter((k) => k.endsWith(`/${PLAN_KEY}`))
    .map((k) => k.slice(0, -(PLAN_KEY.length + 1)))
    .filter((id) => !keys.has(`${id}/${MANIFEST_KEY}`))
    .sort()
    .reverse();
  for (const id of candidates) {
    const plan = await readPlan(store, id).catch(() => undefined);
    if (plan?.consistency === "frozen" && plan.source.instance === source.instance && plan.source.snapshotId === source.snapshotId) return id;
  }
  return undefined;
}

/** Reads a backup's plan; undefined when there is none (a damaged one is an error). */
export async function readPlan(store: BackupStore, id: string): Promise<DumpPlan | undefined> {
  const key = `${backupPrefix(id)}${PLAN_KEY}`;
  const got = await store.get(key);
  if (got.isErr()) {
    if (got.error._tag === "ObjectNotFound") return undefined;
    return fail({ _tag: "StoreFailed", storeError: got.error, message: got.error.message });
  }
  const chunks: Buffer[] = [];
  for await (const c of got.value as AsyncIterable<Buffer>) chunks.push(c);
  const parsed = dumpPlanSchema.safeParse(safeJson(Buffer.concat(chunks).toString("utf8")));
  if (!parsed.success) return fail({ _tag: "PlanMissing", id, message: `the plan of backup ${id} (${key}) is damaged: ${parsed.error.issues[0]?.message ?? "not a plan"}` });
  return parsed.data;
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

interface ServerFacts {
  serverVersion: string;
  serverVersionNum: number;
  encoding: string;
  snapshotTime: string;
  /** The server runs on this machine: reached through a Unix socket or a loopback address. */
  sharesHost: boolean;
  /** Large objects in the snapshot: read here, so that planning needs no query of its own. */
  largeObjects: number;
}

/** The tables as the capture hands them on: their locks being taken, and the check still running. */
interface TablesRead {
  tables: TableData[];
  locked: Promise<void>;
  supported: Promise<boolean>;
}

/**
 * Makes and stores the plan on a connection inside the transaction (snapshot) the units will
 * read: schema object, then `plan.json` and `units.json`. The units are known as soon as the
 * tables are read, and `onUnits` gets them there, while the rest of the schema is still being
 * read: a live dump starts its largest tables then. Throws DumpFailure.
 */
export async function makePlan(
  client: PgClient,
  store: BackupStore,
  input: {
    id: string;
    consistency: "live" | "frozen";
    source: SourceDescription;
    settings: DumpSettings;
    startedAt: Date;
    signal?: AbortSignal | undefined;
    /** Reads the catalogs (default: `client`); a pool of connections in the same snapshot reads them side by side. */
    catalog?: QueryPool;
    /**
     * Runs as soon as the tables are read (before the capture sends its next query, and before the
     * check for unsupported objects is done), before their units are made: a live dump locks the
     * tables there, on the connection that read their sizes.
     */
    afterTables?: (tables: readonly TableData[]) => Promise<void>;
    /** Gets the units as soon as they are known, before the rest of the schema is read and anything is stored. */
    onUnits?: (plan: DataPlan) => void;
  },
): Promise<DumpPlan> {
  const t0 = performance.now();
  const prefix = backupPrefix(input.id);
  const reader = input.catalog ?? new QueryPool([client]);
  // The facts first (one cheap round trip, which the capture would make for the version anyway),
  // then the relations, on the connection that locks the tables.
  const facts = await serverFacts(reader.first);
  let tablesRead!: (read: TablesRead) => void;
  const tablesKnown = new Promise<TablesRead>((resolve) => (tablesRead = resolve));
  const onTables = (read: TableData[], supported: Promise<boolean>) => {
    // Locked at once, before the capture sends its next query: that connection is the lock's.
    const locked = input.afterTables ? input.afterTables(read) : Promise.resolve();
    // Both are awaited by the planning below, later: handled now, so neither is left unhandled.
    locked.catch(() => {});
    supported.catch(() => {});
    tablesRead({ tables: read, locked, supported });
  };
  const capturing = (async (): Promise<SchemaCapture> => {
    const captured = await captureSchema(reader, { onTables, serverVersionNum: facts.serverVersionNum });
    if (captured.isErr()) fail({ _tag: "SchemaCaptureFailed", schemaError: captured.error, message: captured.error.message });
    return (captured as { value: SchemaCapture }).value;
  })();
  const tables = tablesKnown.then((k) => k.tables);
  // A capture that fails before the tables are read fails this first; one that succeeds has read
  // them. Units are handed on only once nothing that cannot be backed up was found: otherwise the
  // capture fails with what it found, and this never settles.
  const planning = tablesKnown.then(async ({ tables: read, locked, supported }) => {
    await locked;
    const data = await planUnits(reader.first, read, input, facts);
    // A failed check fails the capture, with its own message.
    if (!(await supported.catch(() => false))) return new Promise<never>(() => {});
    input.onUnits?.(data);
    return data;
  });
  // Not before the tables: it reads the size of every file of the database.
  const databaseBytes = tables.then(() => databaseSize(reader));
  const [schema, data] = await Promise.all([capturing, planning, databaseBytes]);
  input.signal?.throwIfAborted();
  const sequences = await readSequenceStates(reader, schema.sequences);

  // Where the server runs only shaped this plan's default, and the large objects are its units:
  // the manifest describes the source.
  const { sharesHost: _sharesHost, largeObjects: _largeObjects, ...sourceFacts } = { ...facts, databaseBytes: await databaseBytes };
  const format = objectFormat(input.settings);
  const schemaKey = `schema.json${objectSuffix(format)}`;
  const written = await writeOrThrow(store, `${prefix}${schemaKey}`, readableOf(JSON.stringify({ items: schema.items, roles: schema.roles })), { ...format, ...(input.signal ? { signal: input.signal } : {}) });
  const plan: DumpPlan = {
    format: PLAN_FORMAT,
    id: input.id,
    consistency: input.consistency,
    startedAt: input.startedAt.toISOString(),
    source: { ...input.source, ...sourceFacts },
    settings: data.settings,
    schema: { kind: "schema", key: schemaKey, items: schema.items.length, bytes: written.bytes, sha256: written.sha256 },
    tables: data.tables,
    units: data.units,
    sequences,
    matviews: schema.matviews,
    inventory: inventoryOf(schema.items),
    schemaMs: Math.round(performance.now() - t0),
  };
  await putJson(store, `${prefix}${PLAN_KEY}`, plan, input.signal);
  await putJson(store, `${prefix}${UNITS_KEY}`, data.units.map((u) => ({ unit: u.unit })), input.signal);
  return plan;
}

const objectFormat = (settings: DumpSettings): ObjectEncoding => ({
  compression: settings.compression,
  ...(settings.compressionLevel !== undefined ? { compressionLevel: settings.compressionLevel } : {}),
  ...(settings.encryption ? { encryption: settings.encryption } : {}),
});

/** The units of the tables read: one per table, or per chunk of a table larger than the split threshold, then the large objects. */
async function planUnits(reader: Queryable, tables: readonly TableData[], input: { id: string; settings: DumpSettings }, info: ServerFacts): Promise<DataPlan> {
  const { settings } = input;
  const ext = objectSuffix(objectFormat(settings));
  const total = tables.reduce((s, t) => s + t.sizeBytes, 0);
  const threshold = settings.splitLargerThan ?? defaultSplitThreshold(total, settings.jobs, info.sharesHost);
  const ranges = await tableRanges(reader, tables, threshold, info.serverVersionNum);
  const { largeObjects } = info;
  const width = Math.max(4, String(tables.length).length);
  const units: PlanUnit[] = [];
  tables.forEach((t, ti) => {
    const parts = ranges[ti]!;
    const file = String(ti + 1).padStart(width, "0");
    parts.forEach((range, pi) =>
      units.push({
        kind: "table",
        unit: units.length,
        table: ti,
        part: pi,
        key: parts.length === 1 ? `data/${file}.copy${ext}` : `data/${file}.${String(pi + 1).padStart(3, "0")}.copy${ext}`,
        range,
        sizeBytes: Math.round(t.sizeBytes / parts.length),
      }),
    );
  });
  if (largeObjects > 0) units.push({ kind: "large-objects", unit: units.length, key: `large-objects${ext}`, count: largeObjects });
  return {
    id: input.id,
    settings: {
      compression: settings.compression,
      ...(settings.compressionLevel !== undefined ? { compressionLevel: settings.compressionLevel } : {}),
      encryption: encryptionRecord(settings.encryption),
      lockUntil: settings.lockUntil ? settings.lockUntil.toISOString() : null,
      splitLargerThan: threshold,
      jobs: settings.jobs,
    },
    tables: tables.map((t) => ({ schema: t.schema, table: t.name, columns: t.columns, sizeBytes: t.sizeBytes })),
    units,
  };
}

export async function putJson(store: BackupStore, key: string, value: unknown, signal?: AbortSignal): Promise<void> {
  const r = await store.put(key, Buffer.from(JSON.stringify(value)), signal ? { signal } : {});
  if (r.isErr()) fail({ _tag: "StoreFailed", storeError: r.error, message: r.error.message });
}

/** What the plan and manifest say of the server, read in the snapshot's transaction. */
async function serverFacts(client: Queryable): Promise<ServerFacts> {
  const r = await client.query<{ version: string; num: string; encoding: string; at: Date; local: boolean; large_objects: number }>(
    `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
            pg_catalog.pg_encoding_to_char(d.encoding) AS encoding, pg_catalog.now() AS at,
            (SELECT count(*)::int FROM pg_catalog.pg_largeobject_metadata) AS large_objects,
            pg_catalog.inet_server_addr() IS NULL OR pg_catalog.host(pg_catalog.inet_server_addr()) IN ('::1', '::ffff:127.0.0.1')
              OR pg_catalog.inet_server_addr() <<= '127.0.0.0/8'::pg_catalog.inet AS local
       FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
  );
  const row = r.rows[0]!;
  return {
    serverVersion: row.version,
    serverVersionNum: Number(row.num),
    encoding: row.encoding,
    snapshotTime: new Date(row.at).toISOString(),
    sharesHost: row.local,
    largeObjects: row.large_objects,
  };
}

const databaseSize = async (client: Queryable): Promise<number> =>
  Number((await client.query<{ size: string }>("SELECT pg_catalog.pg_database_size(pg_catalog.current_database()) AS size")).rows[0]!.size);

/**
 * The chunks of every table: tables above the threshold are looked at for a single-column
 * integer primary or unique key (its bounds read in this snapshot) and their exact page count.
 */
async function tableRanges(client: Queryable, tables: readonly TableData[], threshold: number, serverVersionNum: number): Promise<ChunkRange[][]> {
  const big = tables.filter((t) => t.sizeBytes > threshold);
  const facts = new Map<number, { column: string | null; nullable: boolean; pages: number }>();
  if (big.length > 0) {
    const r = await client.query<{ oid: number; column: string | null; nullable: boolean; pages: string }>(
      `SELECT c.oid, k.attname AS column, k.nullable,
              pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int AS pages
         FROM pg_catalog.pg_class c
         LEFT JOIN LATERAL (
           SELECT a.attname, NOT a.attnotnull AS nullable
             FROM pg_catalog.pg_index i
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indnkeyatts = 1
              AND i.indexprs IS NULL AND i.indpred IS NULL
              AND a.atttypid IN ('pg_catalog.int2'::pg_catalog.regtype, 'pg_catalog.int4'::pg_catalog.regtype, 'pg_catalog.int8'::pg_catalog.regtype)
            ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1) k ON true
        WHERE c.oid = ANY($1::oid[])`,
      [big.map((t) => t.oid)],
    );
    for (const row of r.rows) facts.set(Number(row.oid), { column: row.column, nullable: row.nullable, pages: Number(row.pages) });
  }
  const out: ChunkRange[][] = [];
  for (const t of tables) {
    const f = facts.get(t.oid);
    if (!f) {
      out.push([{ by: "all" }]);
      continue;
    }
    let key: { column: string; min: string; max: string; nullable: boolean } | undefined;
    if (f.column) {
      const b = await client.query<{ min: string | null; max: string | null }>(`SELECT min(${ident(f.column)})::text AS min, max(${ident(f.column)})::text AS max FROM ONLY ${qname(t.schema, t.name)}`);
      const { min, max } = b.rows[0]!;
      if (min !== null && max !== null) key = { column: f.column, min, max, nullable: f.nullable };
    }
    // A key column with only NULLs leaves ctid ranges (or one chunk on 13).
    out.push(chunkRanges({ sizeBytes: t.sizeBytes, pages: f.pages, serverVersionNum, ...(key ? { key } : {}) }, threshold));
  }
  return out;
}
