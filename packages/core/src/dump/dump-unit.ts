import { copyOut } from "../pg/copy-out.js";
import { qname } from "../pg/sql.js";
import type { PgClient, PgConnect } from "../pg/session.js";
import { Failure, type ResultAsync } from "../result.js";
import { backupPrefix } from "../object/backup-id.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { unitCopySql } from "./chunks.js";
import { fail, settleDump, writeOrThrow, type DumpError } from "./dump-errors.js";
import { markerKey, unitMarkerSchema, type DataPlan, type PlanUnit, type UnitMarker } from "./dump-plan.js";
import type { EncryptionKeys } from "../object/encryption.js";
import { largeObjectStream, listLargeObjects } from "../pg/large-objects.js";
import { connectSource, putJson, readPlan } from "./plan-dump.js";
import type { ObjectEncoding } from "../object/encoding.js";

export interface UnitDeps {
  connect: PgConnect;
  store: BackupStore;
  /** The recipients the plan names (public keys); required when the plan is encrypted. */
  encryption?: EncryptionKeys;
  signal?: AbortSignal;
  onProgress?: (p: UnitProgress) => void;
}

/** Rows and bytes of the unit streaming now. */
export interface UnitProgress {
  unit: number;
  table: string;
  rows: number;
  rawBytes: number;
}

export interface UnitInput {
  id: string;
  unit: number;
  /** Who runs it (an execution, a process): markers record it, so a commit counts reused units. */
  attempt: string;
}

export interface UnitResult {
  unit: number;
  key: string;
  rows: number;
  bytes: number;
  rawBytes: number;
  /** A valid marker and object were already there: nothing was read. */
  reused: boolean;
}

/** What a unit run locally produced: its result and the marker it stored. */
export interface UnitRunResult extends UnitResult {
  marker: UnitMarker;
}

/**
 * Dumps one unit of a planned backup of a frozen source, in its own REPEATABLE READ transaction:
 * a table, a chunk of one, or the large objects, to one object plus its marker. Idempotent: a
 * unit whose marker is valid and whose object has the recorded size is skipped; a damaged one is
 * done again (its object overwritten).
 */
export function dumpUnit(deps: UnitDeps, input: UnitInput): ResultAsync<UnitResult, DumpError> {
  return settleDump(
    (async () => {
      const plan = await readPlan(deps.store, input.id);
      if (!plan) return fail({ _tag: "PlanMissing", id: input.id, message: `backup ${input.id} has no plan: plan it first` });
      const unit = plan.units[input.unit];
      if (!unit) return fail({ _tag: "PlanMissing", id: input.id, message: `backup ${input.id} has no unit ${input.unit} (it has ${plan.units.length})` });
      const done = await validMarker(deps.store, plan.id, unit);
      if (done) return reusedResult(done);
      const client = await connectSource(deps.connect, `source database ${plan.source.database}`);
      try {
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        const { marker: _, ...r } = await runUnit(client, deps.store, plan, unit, { attempt: input.attempt, ...formatOf(plan, deps.encryption), signal: deps.signal, onProgress: deps.onProgress });
        await client.query("COMMIT");
        return r;
      } finally {
        await client.end().catch(() => {});
      }
    })(),
    deps.signal,
  );
}

export const reusedResult = (m: UnitMarker): UnitResult => ({ unit: m.unit, key: m.key, rows: m.rows, bytes: m.bytes, rawBytes: m.rawBytes, reused: true });

/** The object format a plan asks for; encrypting needs its recipients (never stored in the plan's keys). */
export function formatOf(plan: DataPlan, encryption?: EncryptionKeys): { format: ObjectEncoding } {
  if (plan.settings.encryption && !encryption) {
    fail({ _tag: "ResumeRefused", id: plan.id, message: `backup ${plan.id} is encrypted for ${plan.settings.encryption.recipients.length} recipient(s): the same recipients are needed to continue it` });
  }
  return {
    format: {
      compression: plan.settings.compression,
      ...(plan.settings.compressionLevel !== undefined ? { compressionLevel: plan.settings.compressionLevel } : {}),
      ...(plan.settings.encryption && encryption ? { encryption } : {}),
    },
  };
}

/**
 * A unit's marker when it and its object are whole: the marker parses, names this unit, and the
 * object is listed at the recorded size. Undefined otherwise (the unit must run).
 */
export async function validMarker(store: BackupStore, id: string, unit: PlanUnit, listed?: ReadonlyMap<string, number>): Promise<UnitMarker | undefined> {
  const prefix = backupPrefix(id);
  const got = await store.get(`${prefix}${markerKey(unit.unit)}`);
  if (got.isErr()) return undefined;
  let text = "";
  try {
    for await (const c of got.value as AsyncIterable<Buffer>) text += c.toString("utf8");
  } catch {
    return undefined;
  }
  let marker: UnitMarker;
  try {
    const parsed = unitMarkerSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return undefined;
    marker = parsed.data;
  } catch {
    return undefined;
  }
  if (marker.unit !== unit.unit || marker.key !== unit.key) return undefined;
  const size = listed ? listed.get(unit.key) : await objectSize(store, `${prefix}${unit.key}`);
  return size === marker.bytes ? marker : undefined;
}

async function objectSize(store: BackupStore, key: string): Promise<number | undefined> {
  const r = await store.list(key);
  return r.isOk() ? r.value.find((o) => o.key === key)?.bytes : undefined;
}

export interface UnitRunOptions {
  attempt: string;
  format: ObjectEncoding;
  persistMarker?: boolean;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: UnitProgress) => void) | undefined;
  onRaw?: (bytes: number, lines: number) => void;
  /**
   * Lock the table `NOWAIT` in the COPY's own round trip, as pg_dump's workers do: a lock that
   * cannot be granted at once (an exclusive lock queued behind the coordinator's) is reported as
   * `lock-unavailable`, the transaction intact, instead of waiting behind it forever.
   */
  lockNowait?: boolean;
}

const LOCK_SAVEPOINT = "cobalt_lock";
const LOCK_UNAVAILABLE = "55P03";

/**
 * Runs one unit on a connection already inside the transaction it must read (the live dump's
 * shared snapshot, or a frozen source's own): COPY (or the large objects) into its object, then
 * its marker. Throws DumpFailure.
 */
export async function runUnit(
  client: PgClient,
  store: BackupStore,
  plan: DataPlan,
  unit: PlanUnit,
  opts: UnitRunOptions & { lockNowait?: false },
): Promise<UnitRunResult>;
export async function runUnit(client: PgClient, store: BackupStore, plan: DataPlan, unit: PlanUnit, opts: UnitRunOptions): Promise<UnitRunResult | "lock-unavailable">;
export async function runUnit(client: PgClient, store: BackupStore, plan: DataPlan, unit: PlanUnit, opts: UnitRunOptions): Promise<UnitRunResult | "lock-unavailable"> {
  const prefix = backupPrefix(plan.id);
  const t = unit.kind === "table" ? plan.tables[unit.table]! : undefined;
  const display = t ? `${t.schema}.${t.table}` : "large objects";
  let rows = 0;
  let rawBytes = 0;
  const onRaw = (bytes: number, lines: number) => {
    rows += lines;
    rawBytes += bytes;
    opts.onRaw?.(bytes, lines);
    opts.onProgress?.({ unit: unit.unit, table: display, rows, rawBytes });
  };
  const locking = unit.kind === "table" && opts.lockNowait === true;
  let written;
  try {
    const lock = locking ? `SAVEPOINT ${LOCK_SAVEPOINT}; LOCK TABLE ${qname(t!.schema, t!.table)} IN ACCESS SHARE MODE NOWAIT; RELEASE SAVEPOINT ${LOCK_SAVEPOINT}; ` : "";
    const source =
      unit.kind === "table"
        ? client.query(copyOut(lock + unitCopySql({ schema: t!.schema, name: t!.table, columns: t!.columns }, unit.range)))
        : largeObjectStream(client, await listLargeObjects(client));
    // COPY text can be twice the heap size (bytea as hex): a generous estimate for part sizing.
    written = await writeOrThrow(store, `${prefix}${unit.key}`, source, {
      ...opts.format,
      ...(unit.kind === "table" ? { expectedBytes: unit.sizeBytes * 2 } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onRaw,
    });
  } catch (cause) {
    if (cause instanceof Failure) throw cause;
    if (locking && (cause as { code?: string }).code === LOCK_UNAVAILABLE && rows === 0) {
      await client.query(`ROLLBACK TO SAVEPOINT ${LOCK_SAVEPOINT}; RELEASE SAVEPOINT ${LOCK_SAVEPOINT}`);
      return "lock-unavailable";
    }
    if (unit.kind === "large-objects") fail({ _tag: "LargeObjectsFailed", message: `reading large objects failed: ${causeMessage(cause)}`, retryable: true });
    return fail({ _tag: "CopyFailed", table: display, message: `reading table ${display}${unitLabel(plan, unit)} failed: ${causeMessage(cause)}`, retryable: true });
  }
  const marker: UnitMarker = {
    unit: unit.unit,
    key: unit.key,
    bytes: written.bytes,
    sha256: written.sha256,
    // Large objects: the record count, not lines.
    rows: unit.kind === "large-objects" ? unit.count : written.rawLines,
    rawBytes: written.rawBytes,
    rawSha256: written.rawSha256,
    attempt: opts.attempt,
  };
  if (opts.persistMarker !== false) await putJson(store, `${prefix}${markerKey(unit.unit)}`, marker, opts.signal);
  return { unit: unit.unit, key: unit.key, rows: marker.rows, bytes: marker.bytes, rawBytes: marker.rawBytes, reused: false, marker };
}

/** ` (chunk 2 of 5)` for a table split into chunks. */
export function unitLabel(plan: DataPlan, unit: PlanUnit): string {
  if (unit.kind !== "table") return "";
  const parts = plan.units.filter((u) => u.kind === "table" && u.table === unit.table).length;
  return parts > 1 ? ` (chunk ${unit.part + 1} of ${parts})` : "";
}
