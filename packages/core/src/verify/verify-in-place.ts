/**
 * Verify in place: a committed backup restored into a fresh scratch database on a server the
 * caller reaches (the temporary RDS instance itself, or a configured PostgreSQL), as steps that
 * each do a bounded amount of work, so that a state machine can run them in short invocations:
 *
 * 1. `prepareVerifyInPlace`: (re)creates the scratch database and applies one batch of pre-data
 *    per call; the first call also stores the list of parts a Map runs over.
 * 2. `verifyPartInPlace`: one table part (or the large objects), compared with its manifest entry
 *    as it loads; parts of one table may run in any order, in parallel.
 * 3. `postDataInPlace`: one fixed-size batch of post-data, in the manifest's dependency order.
 * 4. `finishVerifyInPlace`: sequences, materialized views, the comparisons `verifyRestore` makes
 *    (inventory, sequence states, large objects, every part's verdict), `verified.json`, and the
 *    scratch database dropped.
 *
 * Every step may run again (a retry, a redrive): a part loads in one transaction that also records
 * its verdict in a bookkeeping table of the scratch database, so a part that committed is never
 * loaded twice.
 */
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { corruptionOf, openBackup, openChecked } from "../catalog/open-backup.js";
import { readManifest } from "../catalog/backup-catalog.js";
import type { Manifest, TableObject, Verification } from "../manifest/manifest.js";
import { backupPrefix } from "../object/backup-id.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { corruptObject } from "../object/read-object.js";
import { copyFromSql, copyToSql } from "../pg/copy-sql.js";
import { largeObjectStream, listLargeObjects, restoreLargeObjects } from "../pg/large-objects.js";
import { readSequenceStates, setvalSql } from "../pg/sequences.js";
import type { PgClient, PgConnect } from "../pg/session.js";
import { ident, literal, qname } from "../pg/sql.js";
import { applyItem, connectTarget, PRE_DATA_BATCH } from "../restore/restore-backup.js";
import { Failure, failWith, settle, unexpected, type Fail, type ResultAsync } from "../result.js";
import { captureSchema } from "../schema/capture.js";
import { compareInventories, inventoryOf } from "../schema/inventory.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { IntegrityError, Meter } from "../util/meter.js";
import { readableOf } from "../util/readable.js";
import { recordFailedVerification, recordVerification, tableDigest, type TableCheck, type VerifyError, type VerifyReport } from "./verify-restore.js";

/** Post-data statements per step: each may build an index, so a step's time is about this many builds. */
export const POST_DATA_STEP = 10;
/** Where the steps keep their own records under the backup's prefix. */
export const VERIFY_PARTS_KEY = "verify/parts.json";
export const verdictKey = (part: number): string => `verify/parts/${String(part).padStart(5, "0")}.json`;
/** The scratch database's bookkeeping schema: not part of the backup, left out of the comparison. */
const BOOK = "_cobalt_verify";

export interface InPlaceDeps {
  /** Opens a connection to `database` on the scratch server (the maintenance database, or the scratch one). */
  connect: (database: string) => PgConnect;
  store: BackupStore;
  /** age identities or passphrase, for encrypted backups. */
  decryption?: DecryptionKeys;
  now?: () => Date;
}

export interface InPlaceTarget {
  id: string;
  /** Where CREATE and DROP DATABASE run (default `postgres`): never the source database, which planDump made read-only. */
  maintenanceDatabase?: string;
}

/** One item of the Map over parts: a table part, or the large objects. */
export type VerifyPart = { part: number; kind: "table"; table: number; index: number } | { part: number; kind: "large-objects" };

/** Every part of a backup, in manifest order: each table's parts, then the large objects. Pure. */
export function verifyParts(m: Manifest): VerifyPart[] {
  const out: VerifyPart[] = [];
  m.tables.forEach((t, table) => t.parts.forEach((_, index) => out.push({ part: out.length, kind: "table", table, index })));
  if (m.largeObjects) out.push({ part: out.length, kind: "large-objects" });
  return out;
}

/** The scratch database of a backup: one name per backup id, so every step finds it (not the CLI verify's `cobalt_verify_*`, which may share the server). */
export const scratchDatabase = (id: string): string => `cobalt_inplace_${createHash("sha256").update(id).digest("hex").slice(0, 16)}`;

/** A part's verdict, also stored as `verify/parts/<n>.json`. */
export interface PartVerdict {
  part: number;
  /** `schema.table`, or `large objects`. */
  what: string;
  rows: number;
  expectedRows: number;
  sha256: string;
  expectedSha256: string;
  ok: boolean;
  /** Found recorded by an earlier attempt of this step: nothing was loaded. */
  reused: boolean;
}

export interface PrepareOutput {
  database: string;
  /** The next pre-data item to apply, or -1 when pre-data is done. */
  next: number;
  /** Pre-data items applied by this step. */
  applied: number;
  parts: number;
  /** `[{"part": 0}, ...]` under the backup's prefix: a Map's items. */
  partsKey: string;
}

const fail: Fail<VerifyError> = failWith();
const run = <T>(work: Promise<T>): ResultAsync<T, VerifyError> => settle<T, VerifyError>(work, (e) => unexpected(e, "verify in place failed"));

/**
 * Step 1, called with `next` 0, then with each returned `next` until it is -1: the first call
 * (re)creates the scratch database (an earlier attempt's is dropped), its bookkeeping table and
 * the parts list; every call applies one batch of pre-data in one transaction.
 */
export function prepareVerifyInPlace(deps: InPlaceDeps, input: InPlaceTarget & { next: number }): ResultAsync<PrepareOutput, VerifyError> {
  return run(
    (async () => {
      // The whole backup is checked (keys, every object at its size) before anything is created.
      const { manifest, items } = await openBackup(deps.store, input.id, deps.decryption);
      const database = scratchDatabase(manifest.id);
      const parts = verifyParts(manifest);
      const partsKey = `${backupPrefix(manifest.id)}${VERIFY_PARTS_KEY}`;
      if (input.next === 0) {
        await withClient(deps, input.maintenanceDatabase ?? "postgres", async (c) => {
          await c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`);
          await c.query(`CREATE DATABASE ${ident(database)} TEMPLATE template0 ENCODING ${literal(manifest.source.encoding)}`);
        });
        await withClient(deps, database, (c) => c.query(`CREATE SCHEMA ${BOOK}; CREATE TABLE ${BOOK}.parts (part int PRIMARY KEY, verdict jsonb NOT NULL)`));
        await putJson(deps.store, partsKey, parts.map((p) => ({ part: p.part })));
      }
      const pre = items.filter((i) => i.section === "pre-data");
      const batch = pre.slice(input.next, input.next + PRE_DATA_BATCH);
      await withClient(deps, database, async (c) => {
        await c.query("BEGIN");
        for (const item of batch) await applyItem(c, item);
        await c.query("COMMIT");
      });
      const next = input.next + batch.length < pre.length ? input.next + batch.length : -1;
      return { database, next, applied: batch.length, parts: parts.length, partsKey };
    })(),
  );
}

/**
 * Step 2: one part. A table part is loaded in one transaction: into a staging table created in
 * that transaction (so COPY fills it in stream order), read back with COPY TO and compared with
 * the part's rows and raw sha256, then inserted into its table; the verdict is recorded in the
 * same transaction and then stored. The large objects are loaded and read back the same way. A
 * part recorded by an earlier attempt is not loaded again. A difference is a verdict, not an
 * error; a corrupt or missing object fails the step and records the failed verification.
 */
export function verifyPartInPlace(deps: InPlaceDeps, input: { id: string; part: number; targetName: string }): ResultAsync<PartVerdict, VerifyError> {
  return run(
    (async () => {
      const m = await readManifest(deps.store, input.id);
      if (m.isErr()) return fail(m.error);
      const manifest = m.value;
      const part = verifyParts(manifest)[input.part];
      if (!part) return fail(unexpected(new Error(`backup ${manifest.id} has no part ${input.part}`)));
      const verdict = await withClient(deps, scratchDatabase(manifest.id), async (c) => {
        const done = await c.query<{ verdict: PartVerdict }>(`SELECT verdict FROM ${BOOK}.parts WHERE part = $1`, [part.part]);
        if (done.rows[0]) return { ...done.rows[0].verdict, reused: true };
        await c.query("BEGIN");
        try {
          const v = part.kind === "table" ? await loadPart(c, deps, manifest, manifest.tables[part.table]!, part) : await loadLargeObjects(c, deps, manifest, part.part);
          await c.query(`INSERT INTO ${BOOK}.parts (part, verdict) VALUES ($1, $2)`, [part.part, JSON.stringify(v)]);
          await c.query("COMMIT");
          return v;
        } catch (cause) {
          await c.query("ROLLBACK").catch(() => {});
          throw cause;
        }
      }).catch(async (cause: unknown) => {
        // A bad object proves the backup bad: recorded as the failed verification, as verify does.
        if (cause instanceof Failure && ["ObjectCorrupt", "ObjectMissing", "DecryptionFailed"].includes((cause.error as VerifyError)._tag)) {
          await recordFailedVerification(deps, manifest.id, input.targetName, (cause.error as VerifyError).message, (deps.now ?? (() => new Date()))()).match(() => {}, () => {});
        }
        throw cause;
      });
      await putJson(deps.store, `${backupPrefix(manifest.id)}${verdictKey(part.part)}`, verdict);
      return verdict;
    })(),
  );
}

async function loadPart(c: PgClient, deps: InPlaceDeps, manifest: Manifest, t: TableObject, part: VerifyPart & { kind: "table" }): Promise<PartVerdict> {
  const display = `${t.schema}.${t.table}`;
  const p = t.parts[part.index]!;
  const staging = { schema: "pg_temp", name: "cobalt_part", table: "cobalt_part", columns: t.columns };
  const cols = t.columns.map(ident).join(", ");
  // A table created in this transaction: COPY skips the free space map, so a sequential read returns the rows in stream order.
  await c.query(`CREATE TEMP TABLE cobalt_part ON COMMIT DROP AS SELECT ${cols} FROM ONLY ${qname(t.schema, t.table)} WITH NO DATA`);
  try {
    await pipeline(await openChecked(deps.store, manifest, p, deps.decryption), c.query(copyFrom(copyFromSql(staging))));
  } catch (cause) {
    if (cause instanceof Failure) throw cause;
    const corrupt = cause instanceof IntegrityError || !(cause as { code?: string }).code ? corruptObject(p.key, cause) : await corruptionOf(deps.store, manifest, p);
    if (corrupt) fail({ ...corrupt, message: `${corrupt.message} (table ${display})` });
    fail({ _tag: "LoadFailed", table: display, key: p.key, message: `loading table ${display} from ${p.key} failed: ${causeMessage(cause)}` });
  }
  const meter = new Meter();
  await pipeline(c.query(copyTo(copyToSql(staging))), meter, sink());
  // OVERRIDING SYSTEM VALUE: an identity column GENERATED ALWAYS takes its dumped values, as COPY gives them.
  await c.query(t.columns.length ? `INSERT INTO ${qname(t.schema, t.table)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM pg_temp.cobalt_part` : `INSERT INTO ${qname(t.schema, t.table)} SELECT FROM pg_temp.cobalt_part`);
  const what = t.parts.length > 1 ? `${display} (part ${part.index + 1} of ${t.parts.length})` : display;
  return { part: part.part, what, rows: meter.lines, expectedRows: p.rows, sha256: meter.sha256(), expectedSha256: p.rawSha256, ok: meter.lines === p.rows && meter.sha256() === p.rawSha256, reused: false };
}

async function loadLargeObjects(c: PgClient, deps: InPlaceDeps, manifest: Manifest, part: number): Promise<PartVerdict> {
  const lo = manifest.largeObjects!;
  try {
    await restoreLargeObjects(c, await openChecked(deps.store, manifest, lo, deps.decryption));
  } catch (cause) {
    if (cause instanceof Failure) throw cause;
    fail(corruptObject(lo.key, cause));
  }
  const oids = await listLargeObjects(c);
  const meter = new Meter();
  await pipeline(largeObjectStream(c, oids), meter, sink());
  return { part, what: "large objects", rows: oids.length, expectedRows: lo.count, sha256: meter.sha256(), expectedSha256: lo.rawSha256, ok: oids.length === lo.count && meter.sha256() === lo.rawSha256, reused: false };
}

/**
 * Step 3, called with `next` 0, then with each returned `next` until it is -1: the next
 * `POST_DATA_STEP` post-data items (constraints, indexes, triggers, ...) in the manifest's
 * dependency order, in one transaction (a retried step starts its batch again).
 */
export function postDataInPlace(deps: InPlaceDeps, input: { id: string; next: number }): ResultAsync<{ next: number; applied: number }, VerifyError> {
  return run(
    (async () => {
      const { manifest, items } = await openBackup(deps.store, input.id, deps.decryption);
      const post = items.filter((i) => i.section === "post-data");
      const batch = post.slice(input.next, input.next + POST_DATA_STEP);
      await withClient(deps, scratchDatabase(manifest.id), async (c) => {
        await c.query("BEGIN");
        for (const item of batch) await applyItem(c, item);
        await c.query("COMMIT");
      });
      return { next: input.next + batch.length < post.length ? input.next + batch.length : -1, applied: batch.length };
    })(),
  );
}

export interface FinishOutput {
  report: VerifyReport;
  verification: Verification;
}

/**
 * Step 4: sequence states set and populated materialized views refreshed (as a restore ends),
 * then the comparisons `verifyRestore` makes: the object inventory, sequence states, materialized
 * view states, the large objects and every part's verdict. Records `verified.json` (passed or
 * not: a difference is the report's verdict) and drops the scratch database.
 */
export function finishVerifyInPlace(deps: InPlaceDeps, input: InPlaceTarget & { targetName: string; toolVersion: string }): ResultAsync<FinishOutput, VerifyError> {
  const t0 = performance.now();
  return run(
    (async () => {
      const m = await readManifest(deps.store, input.id);
      if (m.isErr()) return fail(m.error);
      const manifest = m.value;
      const database = scratchDatabase(manifest.id);
      const report = await withClient(deps, database, (c) => compare(c, manifest, input, t0));
      const recorded = await recordVerification(deps, report, (deps.now ?? (() => new Date()))());
      if (recorded.isErr()) return fail(recorded.error);
      await withClient(deps, input.maintenanceDatabase ?? "postgres", (c) => c.query(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`));
      return { report, verification: recorded.value };
    })(),
  );
}

async function compare(c: PgClient, manifest: Manifest, input: { id: string; targetName: string; toolVersion: string }, t0: number): Promise<VerifyReport> {
  for (let i = 0; i < manifest.sequences.length; i += 500) await c.query(manifest.sequences.slice(i, i + 500).map(setvalSql).join("\n"));
  for (const mv of manifest.matviews.filter((v) => v.populated)) {
    await c.query(`REFRESH MATERIALIZED VIEW ${qname(mv.schema, mv.name)}`).catch((cause) =>
      fail({ _tag: "SchemaApplyFailed", object: `materialized view ${mv.schema}.${mv.name}`, message: `refreshing materialized view ${mv.schema}.${mv.name} failed: ${causeMessage(cause)}` }),
    );
  }
  await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const verdicts = new Map((await c.query<{ part: number; verdict: PartVerdict }>(`SELECT part, verdict FROM ${BOOK}.parts`)).rows.map((r) => [r.part, r.verdict]));
  const parts = verifyParts(manifest);
  const tables: TableCheck[] = manifest.tables.map((t, ti) => {
    const mine = parts.filter((p) => p.kind === "table" && p.table === ti).map((p) => verdicts.get(p.part));
    const rows = mine.reduce((s, v) => s + (v?.rows ?? 0), 0);
    return {
      table: `${t.schema}.${t.table}`,
      expectedRows: t.rows,
      rows,
      expectedSha256: tableDigest(t.parts.map((p) => p.rawSha256)),
      sha256: mine.every((v) => v) ? tableDigest(mine.map((v) => v!.sha256)) : "(parts not loaded)",
      ok: mine.every((v) => v?.ok) && rows === t.rows,
    };
  });

  const captured = await captureSchema(c);
  if (captured.isErr()) return fail({ _tag: "ReadBackFailed", message: `reading the scratch database's schema failed: ${captured.error.message}` });
  const schema = captured.value;
  const ours = (name: string) => name === BOOK || name.startsWith(`${BOOK}.`);
  const definitionsCompared = manifest.tool.version === input.toolVersion;
  const inventory = compareInventories(manifest.inventory, inventoryOf(schema.items.filter((i) => !ours(i.name))), { definitions: definitionsCompared });

  const states = await readSequenceStates(c, manifest.sequences);
  const sequences = manifest.sequences
    .map((s, i) => ({ s, a: states[i]! }))
    .filter(({ s, a }) => s.lastValue !== a.lastValue || s.isCalled !== a.isCalled)
    .map(({ s, a }) => ({ name: `${s.schema}.${s.name}`, expected: `${s.lastValue}/${s.isCalled}`, actual: `${a.lastValue}/${a.isCalled}` }));
  const populated = new Map(schema.matviews.map((m) => [`${m.schema}.${m.name}`, m.populated]));
  const matviews = manifest.matviews
    .map((m) => ({ name: `${m.schema}.${m.name}`, expected: m.populated, actual: populated.get(`${m.schema}.${m.name}`) ?? false }))
    .filter((m) => m.expected !== m.actual);

  const [{ n: loCount }] = (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_catalog.pg_largeobject_metadata")).rows as [{ n: number }];
  const loPart = parts.find((p) => p.kind === "large-objects");
  const loVerdict = loPart ? verdicts.get(loPart.part) : undefined;
  const expectedLo = manifest.largeObjects?.count ?? 0;
  const largeObjects = { expected: expectedLo, actual: loCount, ok: loCount === expectedLo && (!loPart || loVerdict?.ok === true) };
  await c.query("COMMIT");

  const ok = tables.every((t) => t.ok) && inventory.length === 0 && sequences.length === 0 && matviews.length === 0 && largeObjects.ok;
  return { id: manifest.id, ok, target: input.targetName, tables, inventory, definitionsCompared, sequences, matviews, largeObjects, durationMs: Math.round(performance.now() - t0) };
}

async function withClient<T>(deps: InPlaceDeps, database: string, work: (c: PgClient) => Promise<T>): Promise<T> {
  const c = await connectTarget({ connect: deps.connect(database) }, `database ${database}`);
  try {
    return await work(c);
  } finally {
    await c.end().catch(() => {});
  }
}

async function putJson(store: BackupStore, key: string, value: unknown): Promise<void> {
  const r = await store.put(key, readableOf(JSON.stringify(value)));
  if (r.isErr()) fail({ _tag: "StoreFailed", storeError: r.error, message: r.error.message });
}

const sink = () => new Writable({ write: (_c, _e, done) => done() });
