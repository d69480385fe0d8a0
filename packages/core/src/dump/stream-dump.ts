import type { Manifest } from "../manifest/manifest.js";
import type { PgClient, PgConnect } from "../pg/session.js";
import { QueryPool } from "../pg/query-pool.js";
import { qname } from "../pg/sql.js";
import { lockTableHint } from "../schema/capture.js";
import { Failure, type ResultAsync } from "../result.js";
import type { TableData } from "../schema/model.js";
import { backupPrefix, newBackupId } from "../object/backup-id.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { buildManifest } from "./commit-backup.js";
import { fail, settleDump, type DumpError } from "./dump-errors.js";
import { largestFirst, type DataPlan, type DumpPlan, type PlanUnit, type UnitMarker } from "./dump-plan.js";
import { formatOf, runUnit, unitLabel, validMarker } from "./dump-unit.js";
import { checkResumable, connectSource, freeze, makePlan, putJson, readPlan, type DumpSettings, type SourceDescription } from "./plan-dump.js";
import { MANIFEST_KEY } from "../manifest/manifest.js";

export type { DumpError } from "./dump-errors.js";

export interface DumpProgress {
  phase: "schema" | "data" | "commit";
  tablesTotal: number;
  tablesDone: number;
  unitsTotal: number;
  unitsDone: number;
  /** Units an interrupted attempt had already done, not read again. */
  unitsReused: number;
  rows: number;
  rawBytes: number;
  storedBytes: number;
  /** The table that just finished, when one did. */
  table?: string;
  /** A unit still streaming, and how far it got: reported as its COPY text arrives. */
  streaming?: { table: string; chunk?: string; rows: number; rawBytes: number };
}

export interface DumpDeps {
  /** Opens a connection to the source database; called once per worker plus one coordinator. */
  connect: PgConnect;
  store: BackupStore;
  tool: { name: string; version: string };
  now?: () => Date;
  /** Called at each phase, each finished unit and table, and each chunk read (throttle it). */
  onProgress?: (p: DumpProgress) => void;
  /**
   * Stops the dump: connections are closed, uploads aborted; the result is an `Interrupted`
   * error once that is done. A live dump deletes what it wrote; a frozen one keeps the units it
   * finished, so that the backup can be continued.
   */
  signal?: AbortSignal;
}

export interface DumpInput extends DumpSettings {
  source: SourceDescription;
  /**
   * `live` (any URL): every unit reads one snapshot the coordinator exported, in this process;
   * the backup cannot be continued if it stops. `frozen` (a temporary instance restored from a
   * snapshot, which nothing writes to): each worker reads in its own transaction, and an
   * interrupted backup can be continued with `resume`.
   */
  consistency?: "live" | "frozen";
  /** Continue this unfinished backup of a frozen source: only units without a valid marker run. */
  resume?: string;
  /** The id of a new backup (default `<database>/<UTC time>`), e.g. the one a temporary instance is tagged with. */
  id?: string;
  /** Who runs this attempt, recorded in markers (default: a random id). */
  attempt?: string;
}

export interface DumpOutput {
  id: string;
  manifest: Manifest;
}

/**
 * A whole backup in this process: plan, units on a local pool of `jobs` workers (largest first,
 * big tables in chunks), commit. A live source is read through one exported snapshot shared by
 * every worker; a frozen one by independent transactions, and it resumes.
 */
export function streamDump(deps: DumpDeps, input: DumpInput): ResultAsync<DumpOutput, DumpError> {
  const live = (input.consistency ?? "live") === "live";
  return settleDump((live ? runLive : runFrozen)(deps, input), deps.signal, live ? "what the backup had written was deleted" : undefined);
}

const attemptId = () => `attempt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** The shared machinery of both rules: workers, a queue of units, progress, the first failure. */
class UnitRun {
  readonly clients: PgClient[] = [];
  readonly markers: UnitMarker[] = [];
  firstError: unknown;
  readonly progress: DumpProgress = { phase: "schema", tablesTotal: 0, tablesDone: 0, unitsTotal: 0, unitsDone: 0, unitsReused: 0, rows: 0, rawBytes: 0, storedBytes: 0 };
  private remaining = new Map<number, number>();
  private readonly onAbort: () => void;

  constructor(
    private readonly deps: DumpDeps,
    readonly attempt: string,
    /** Store a marker per unit: only a frozen source resumes, so a live run keeps them in memory. */
    private readonly persistMarkers: boolean,
  ) {
    this.onAbort = () => this.stop(deps.signal?.reason);
    deps.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /** Records the first failure and closes every connection, so no worker starts or finishes more work. */
  stop(error: unknown): void {
    if (this.firstError !== undefined) return;
    this.firstError = error;
    for (const c of this.clients) void c.end().catch(() => {});
  }

  report(extra: Partial<DumpProgress> = {}): void {
    this.deps.onProgress?.({ ...this.progress, ...extra });
  }

  start(plan: DataPlan, done: readonly UnitMarker[]): void {
    this.progress.phase = "data";
    this.progress.tablesTotal = plan.tables.length;
    this.progress.unitsTotal = plan.units.length;
    for (const u of plan.units) if (u.kind === "table") this.remaining.set(u.table, (this.remaining.get(u.table) ?? 0) + 1);
    for (const m of done) this.finished(plan, plan.units[m.unit]!, m, true);
    this.report();
  }

  finished(plan: DataPlan, unit: PlanUnit, marker: UnitMarker, reused: boolean): void {
    this.markers.push(marker);
    this.progress.unitsDone++;
    if (reused) {
      this.progress.unitsReused++;
      this.progress.rows += marker.rows;
      this.progress.rawBytes += marker.rawBytes;
    }
    this.progress.storedBytes += marker.bytes;
    if (unit.kind !== "table") return;
    const left = (this.remaining.get(unit.table) ?? 1) - 1;
    this.remaining.set(unit.table, left);
    if (left === 0) {
      this.progress.tablesDone++;
      const t = plan.tables[unit.table]!;
      if (!reused) this.report({ table: `${t.schema}.${t.table}` });
    }
  }

  /**
   * Runs one unit on a client and records it; a failure stops every worker. With `lockNowait`, a
   * table whose lock cannot be granted at once is not read: false.
   */
  async run(client: PgClient, plan: DataPlan, unit: PlanUnit, format: ReturnType<typeof formatOf>["format"], lockNowait = false): Promise<boolean> {
    const t = unit.kind === "table" ? plan.tables[unit.table]! : undefined;
    const parts = unit.kind === "table" ? plan.units.filter((u) => u.kind === "table" && u.table === unit.table).length : 1;
    const streaming = { table: t ? `${t.schema}.${t.table}` : "large objects", ...(parts > 1 && unit.kind === "table" ? { chunk: `${unit.part + 1}/${parts}` } : {}), rows: 0, rawBytes: 0 };
    const r = await runUnit(client, this.deps.store, plan, unit, {
      attempt: this.attempt,
      format,
      persistMarker: this.persistMarkers,
      signal: this.deps.signal,
      onRaw: (bytes, lines) => {
        this.progress.rawBytes += bytes;
        this.progress.rows += lines;
        streaming.rows += lines;
        streaming.rawBytes += bytes;
        this.report({ streaming: { ...streaming } });
      },
      lockNowait,
    });
    if (r === "lock-unavailable") return false;
    this.finished(plan, unit, r.marker, false);
    return true;
  }

  async close(): Promise<void> {
    this.deps.signal?.removeEventListener("abort", this.onAbort);
    await Promise.all(this.clients.map((c) => c.end().catch(() => {})));
  }
}

async function runLive(deps: DumpDeps, input: DumpInput): Promise<DumpOutput> {
  if (input.resume) {
    fail({ _tag: "ResumeRefused", id: input.resume, message: `a backup of a live source cannot be continued: the snapshot it read ended with the process that held it; start a new backup` });
  }
  const now = deps.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  await checkWritable(deps.store);
  deps.signal?.throwIfAborted();
  const id = input.id ?? newBackupId(input.source.database, started);
  const prefix = backupPrefix(id);
  const run = new UnitRun(deps, input.attempt ?? attemptId(), false);
  let committed = false;
  let joining: Promise<PgClient>[] = [];
  let planning: Promise<DumpPlan> | undefined;
  // Workers connect while the coordinator does (and exports its snapshot): they join it then.
  const connecting = Array.from({ length: Math.max(1, input.jobs) }, (_, i) => connectWorker(deps, input, i, run));
  // Their failure is the run's once the coordinator is connected (below); before, the coordinator's is.
  for (const c of connecting) c.catch(() => {});
  try {
    const coordinator = await connectSource(deps.connect, `source database ${input.source.database}`);
    run.clients.push(coordinator);
    deps.signal?.throwIfAborted();
    const snapshot = await exportSnapshot(coordinator);
    run.report();
    // Workers connect and join the snapshot while the coordinator reads the schema, and help it
    // read the catalogs until the units are known; then they leave for the data, and the rest of
    // the schema is read on the coordinator while the largest tables stream.
    const catalog = new QueryPool([coordinator]);
    joining = connecting.map((worker) => worker.then((w) => joinSnapshot(w, snapshot)));
    // Settled even when planning fails first: no rejection goes unhandled.
    for (const j of joining) j.then((worker) => catalog.add(worker), () => {});
    let unitsKnown!: (plan: DataPlan) => void;
    const units = new Promise<DataPlan>((resolve) => (unitsKnown = resolve));
    planning = makePlan(coordinator, deps.store, {
      id,
      consistency: "live",
      source: input.source,
      settings: input,
      startedAt: started,
      signal: deps.signal,
      catalog,
      // The coordinator's locks, taken as soon as the tables are known, last until the end.
      afterTables: (tables) => catalog.using(coordinator, (c) => lockTables(c, tables)),
      onUnits: unitsKnown,
    });
    planning.catch(() => {});
    // Planning that fails before the units are known fails here; after, it stops the run (below).
    const data: DataPlan = await Promise.race([units, planning]);
    const { format } = formatOf(data, input.encryption);
    const jobs = Math.max(1, Math.min(input.jobs, data.units.filter((u) => u.kind === "table").length));
    deps.signal?.throwIfAborted();
    run.start(data, []);
    const dataStart = performance.now();
    const queue = largestFirst(data.units.filter((u) => u.kind === "table"));
    // Units of tables a worker cannot lock at once go to the coordinator, which has held their lock from the start.
    const deferred: PlanUnit[] = [];
    let next = 0;
    // The coordinator has held an ACCESS SHARE lock on every table since the start, so a DDL
    // statement (ALTER TABLE) that came since waits for it; a worker's plain lock would queue
    // behind that statement and wait for the end of the backup, which waits for the worker.
    // Workers lock NOWAIT, as pg_dump's do; what they cannot lock is the coordinator's to copy.
    const workerLoop = async (joined: Promise<PgClient>) => {
      const client = await joined;
      await catalog.take(client);
      while (run.firstError === undefined) {
        const unit = queue[next++];
        if (!unit) return;
        try {
          if (!(await run.run(client, data, unit, format, true))) deferred.push(unit);
        } catch (cause) {
          run.stop(asFailure(cause, data, unit));
          return;
        }
      }
    };
    const workers = queue.length > 0 ? joining.slice(0, jobs).map((j) => workerLoop(j).catch((cause) => run.stop(cause))) : [];
    // The coordinator reads the rest of the schema, then the large objects; a failure there stops the workers.
    const coordinatorWork = planning
      .then(async (plan) => {
        for (const unit of plan.units.filter((u) => u.kind === "large-objects")) await run.run(coordinator, plan, unit, format);
      })
      .catch((cause) => run.stop(cause));
    await Promise.allSettled([coordinatorWork, Promise.all(joining).catch((cause) => run.stop(cause)), ...workers]);
    for (const unit of deferred) {
      if (run.firstError !== undefined) break;
      await run.run(coordinator, data, unit, format).catch((cause) => run.stop(asFailure(cause, data, unit)));
    }
    // Whatever failed first is the cause; errors after it are consequences of stopping.
    if (run.firstError !== undefined) throw run.firstError;
    const plan = await planning;
    const dataMs = performance.now() - dataStart;
    for (const c of run.clients) await c.query("COMMIT").catch(() => {});
    const manifest = await commit(deps, plan, run, dataMs, t0);
    committed = true;
    return { id, manifest };
  } finally {
    // A worker still connecting when planning failed is closed with the rest.
    await Promise.allSettled([...connecting, ...joining, ...(planning ? [planning] : [])]);
    await run.close();
    // A live backup cannot be continued: nothing of an unfinished one is kept.
    if (!committed) await deleteUnder(deps.store, prefix);
  }
}

/** A worker's connection; the run closes it. */
async function connectWorker(deps: DumpDeps, input: DumpInput, i: number, run: UnitRun): Promise<PgClient> {
  const worker = await connectSource(deps.connect, `source database ${input.source.database} (worker ${i + 1})`);
  run.clients.push(worker);
  return worker;
}

/** Takes a worker into the coordinator's exported snapshot. */
async function joinSnapshot(worker: PgClient, snapshot: string): Promise<PgClient> {
  try {
    await worker.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    await worker.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
  } catch (cause) {
    fail({ _tag: "SnapshotFailed", message: `a worker could not join the exported snapshot: ${causeMessage(cause)}` });
  }
  return worker;
}

async function runFrozen(deps: DumpDeps, input: DumpInput): Promise<DumpOutput> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  await checkWritable(deps.store);
  deps.signal?.throwIfAborted();
  const run = new UnitRun(deps, input.attempt ?? attemptId(), true);
  try {
    const id = input.resume ?? input.id ?? newBackupId(input.source.database, started);
    const stored = await readPlan(deps.store, id);
    if (!stored && input.resume) fail({ _tag: "PlanMissing", id, message: `backup ${id} has no plan in ${deps.store.location}: there is nothing to continue` });
    const plan = stored ? checkResumable(stored, { id, source: input.source }) : await planFrozen(deps, input, run, id, started);
    const { format } = formatOf(plan, input.encryption);
    const listed = await deps.store.list(backupPrefix(id));
    if (listed.isErr()) fail({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
    const sizes = new Map(listed.isOk() ? listed.value.map((o) => [o.key.slice(backupPrefix(id).length), o.bytes]) : []);
    const done: UnitMarker[] = [];
    const todo: PlanUnit[] = [];
    for (const unit of plan.units) {
      const m = sizes.has(unit.key) ? await validMarker(deps.store, id, unit, sizes) : undefined;
      if (m) done.push(m);
      else todo.push(unit);
    }
    run.start(plan, done);
    const dataStart = performance.now();
    const queue = largestFirst(todo);
    const jobs = Math.max(1, Math.min(input.jobs, queue.length));
    let next = 0;
    const workerLoop = async (i: number) => {
      if (queue.length === 0) return;
      const client = await connectSource(deps.connect, `source database ${input.source.database} (worker ${i + 1})`);
      run.clients.push(client);
      // Nothing writes to a frozen source: one transaction per worker reads what any other would.
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      while (run.firstError === undefined) {
        const unit = queue[next++];
        if (!unit) return;
        await run.run(client, plan, unit, format).catch((cause) => run.stop(asFailure(cause, plan, unit)));
      }
    };
    await Promise.allSettled(Array.from({ length: jobs }, (_, i) => workerLoop(i).catch((cause) => run.stop(cause))));
    if (run.firstError !== undefined) throw run.firstError;
    const manifest = await commit(deps, plan, run, performance.now() - dataStart, t0);
    return { id, manifest };
  } finally {
    // A frozen backup keeps the units it finished: the next attempt continues from them.
    await run.close();
  }
}

async function planFrozen(deps: DumpDeps, input: DumpInput, run: UnitRun, id: string, started: Date): Promise<DumpPlan> {
  const client = await connectSource(deps.connect, `source database ${input.source.database}`);
  run.clients.push(client);
  run.report();
  await freeze(client);
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  const plan = await makePlan(client, deps.store, { id, consistency: "frozen", source: input.source, settings: input, startedAt: started, signal: deps.signal });
  await client.query("COMMIT");
  return plan;
}

async function commit(deps: DumpDeps, plan: DumpPlan, run: UnitRun, dataMs: number, t0: number): Promise<Manifest> {
  run.progress.phase = "commit";
  run.report();
  const byUnit = new Map(run.markers.map((m) => [m.unit, m]));
  const markers = plan.units.map((u) => byUnit.get(u.unit) ?? fail({ _tag: "UnitsMissing", id: plan.id, units: [u.unit], message: `unit ${u.unit} of backup ${plan.id} did not run` }));
  const manifest = buildManifest(plan, markers, { tool: deps.tool, completedAt: (deps.now ?? (() => new Date()))(), attempt: run.attempt, dataMs });
  manifest.timings.totalMs = Math.max(manifest.timings.totalMs, Math.round(performance.now() - t0));
  deps.signal?.throwIfAborted();
  // The commit: a backup exists once, and only once, this object does.
  await putJson(deps.store, `${backupPrefix(plan.id)}${MANIFEST_KEY}`, manifest, deps.signal);
  return manifest;
}

function asFailure(cause: unknown, plan: DataPlan, unit: PlanUnit): unknown {
  if (cause instanceof Failure) return cause;
  const t = unit.kind === "table" ? plan.tables[unit.table]! : undefined;
  if (!t) return new Failure<DumpError>({ _tag: "LargeObjectsFailed", message: `reading large objects failed: ${causeMessage(cause)}`, retryable: true });
  const display = `${t.schema}.${t.table}`;
  return new Failure<DumpError>({ _tag: "CopyFailed", table: display, message: `reading table ${display}${unitLabel(plan, unit)} failed: ${causeMessage(cause)}`, retryable: true });
}

async function checkWritable(store: BackupStore): Promise<void> {
  const writable = await store.checkWritable();
  if (writable.isErr()) fail({ _tag: "StoreFailed", storeError: writable.error, message: writable.error.message });
}

/** Best effort: what a failed delete leaves is an unfinished backup, which prune removes. */
async function deleteUnder(store: BackupStore, prefix: string): Promise<void> {
  const listed = await store.list(prefix);
  if (listed.isOk() && listed.value.length > 0) await store.delete(listed.value.map((o) => o.key)).match(() => {}, () => {});
}

/** Starts the coordinator's snapshot transaction and exports it for the workers. */
async function exportSnapshot(client: PgClient): Promise<string> {
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const r = await client.query<{ snapshot: string }>("SELECT pg_catalog.pg_export_snapshot() AS snapshot");
    return r.rows[0]!.snapshot;
  } catch (cause) {
    return fail({ _tag: "SnapshotFailed", message: `could not start a consistent snapshot on the source: ${causeMessage(cause)}` });
  }
}

/** ACCESS SHARE locks, as pg_dump takes: concurrent DDL waits until the dump is done. */
async function lockTables(client: PgClient, tables: readonly TableData[]): Promise<void> {
  const names = tables.map((t) => qname(t.schema, t.name));
  try {
    for (let i = 0; i < names.length; i += 500) {
      await client.query(`LOCK TABLE ${names.slice(i, i + 500).join(", ")} IN ACCESS SHARE MODE`);
    }
  } catch (cause) {
    const hint =
      (cause as { code?: string }).code === "42501"
        ? ": the backup's role must be able to read every table (grant it pg_read_all_data, or SELECT on the tables)"
        : lockTableHint(cause);
    fail({ _tag: "SnapshotFailed", message: `could not lock the tables to back up: ${causeMessage(cause)}${hint}` });
  }
}
