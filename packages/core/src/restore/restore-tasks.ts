import TinyQueue from "tinyqueue";
import type { Manifest, TableObject, TablePart } from "../manifest/manifest.js";
import { POST_DATA_PHASE, type DdlItem } from "../schema/model.js";
import { relationByName } from "../catalog/select-objects.js";
import { postDataBatches } from "./post-data-batches.js";

/**
 * One unit of restore work after pre-data: a table's data (all its parts, or one part), the large
 * objects, a post-data item, or an ANALYZE. Tasks run on the workers' connections as soon as what
 * they depend on is done and no running task holds a conflicting lock.
 */
export type RestoreWork =
  | { kind: "data"; table: TableObject; parts: TablePart[]; ordered: boolean }
  | { kind: "large-objects" }
  | { kind: "post-data"; item: DdlItem }
  | { kind: "analyze"; table: TableObject };

export interface RestoreTask {
  id: string;
  /** Ids of tasks that must finish first (ids not among the tasks count as done). */
  deps: string[];
  /** Tables (item ids, `table s.n`) the task locks. */
  locks: string[];
  /**
   * The lock is one that does not conflict with itself (COPY's ROW EXCLUSIVE, CREATE INDEX's
   * SHARE): two such tasks on one table run side by side. Any other pair sharing a table waits.
   */
  sharedLock: boolean;
  /** Bigger first among ready tasks: the longest work starts early. */
  weight: number;
  work: RestoreWork;
}

const tableId = (t: { schema: string; table: string }) => `table ${t.schema}.${t.table}`;
const dataId = (t: { schema: string; table: string }, part?: number) => `data ${t.schema}.${t.table}${part === undefined ? "" : ` #${part}`}`;
/** The task every post-data item but index builds waits for: all data loaded. */
export const ALL_DATA = "(all data loaded)";

/** Post-data item kinds that only build an index: safe beside other tables' loads, and beside one another. */
const INDEX_KINDS = new Set(["index", "constraint"]);
const RELATION_PREFIXES = ["table ", "materialized view ", "view "];

export interface PlanOptions {
  /**
   * Load each table as one stream in one transaction after `TRUNCATE` (rows land in the heap in
   * stream order: verify's read-back needs it). Otherwise a table's parts load side by side.
   */
  orderedLoad: boolean;
  /** More than one worker: splitting a table's parts only pays then. */
  jobs: number;
  /** ANALYZE each restored table at the end of its work. */
  analyze: boolean;
  largeObjects: boolean;
}

/**
 * The work after pre-data as a dependency graph (pure). Data: one task per table, or per part of a
 * split table when the load need not be ordered. Index builds (and primary/unique constraints)
 * wait only for their own table's data, so they overlap other tables' loads, as pg_restore's do;
 * every other post-data item waits for all data and for the items it depends on. Each task locks
 * the tables it names (an item's table dependencies, plus the partitions of a partitioned one):
 * two foreign keys touching the same table never run at once, so their locks cannot deadlock.
 * ANALYZE of a table waits for its data and its index builds. Backups whose items carry no
 * dependencies run their post-data in the captured batches, one batch after another.
 */
export function planRestoreTasks(manifest: Manifest, items: readonly DdlItem[], opts: PlanOptions): RestoreTask[] {
  const tasks: RestoreTask[] = [];
  const dataTasks: string[] = [];
  const byTable = new Map<string, string[]>();
  for (const t of manifest.tables) {
    const ids: string[] = [];
    if (opts.orderedLoad || opts.jobs < 2 || t.parts.length < 2) {
      ids.push(dataId(t));
      tasks.push({ id: dataId(t), deps: [], locks: [tableId(t)], sharedLock: true, weight: t.rawBytes, work: { kind: "data", table: t, parts: t.parts, ordered: true } });
    } else {
      t.parts.forEach((p, i) => {
        ids.push(dataId(t, i));
        // Heaviest first, and the first part first among equals.
        tasks.push({ id: dataId(t, i), deps: [], locks: [tableId(t)], sharedLock: true, weight: p.rawBytes + (t.parts.length - i), work: { kind: "data", table: t, parts: [p], ordered: false } });
      });
    }
    byTable.set(tableId(t), ids);
    dataTasks.push(...ids);
  }
  if (opts.largeObjects) {
    tasks.push({ id: "large objects", deps: [], locks: [], sharedLock: true, weight: manifest.largeObjects?.rawBytes ?? 0, work: { kind: "large-objects" } });
    dataTasks.push("large objects");
  }
  tasks.push({ id: ALL_DATA, deps: dataTasks, locks: [], sharedLock: true, weight: 0, work: { kind: "post-data", item: BARRIER } });

  const post = items.filter((i) => i.section === "post-data");
  const bytesOf = new Map(manifest.tables.map((t) => [tableId(t), t.rawBytes]));
  const partitions = partitionsOf(items);
  const relationNamed = relationByName(items);
  const lockSet = (item: DdlItem): string[] => {
    const recorded = (item.dependsOn ?? []).filter((d) => RELATION_PREFIXES.some((p) => d.startsWith(p)));
    // Row security and NOT VALID NOT NULL items record no dependency: their table is in their name.
    const named = recorded.length ? undefined : relationNamed(item.name);
    const direct = named ? [named] : recorded;
    const all = new Set(direct);
    for (const d of all) for (const child of partitions.get(d) ?? []) all.add(child);
    return [...all];
  };
  const indexBuilds = new Map<string, string[]>();
  if (post.every((i) => i.dependsOn !== undefined)) {
    for (const item of post) {
      const locks = lockSet(item);
      const weight = Math.max(0, ...locks.map((l) => bytesOf.get(l) ?? 0));
      const index = INDEX_KINDS.has(item.kind) && item.phase === POST_DATA_PHASE.indexes && (item.dependsOn ?? []).every((d) => RELATION_PREFIXES.some((p) => d.startsWith(p)) || !d.includes("("));
      const own = index ? locks.flatMap((l) => byTable.get(l) ?? []) : [ALL_DATA];
      tasks.push({ id: item.id, deps: [...own, ...(item.dependsOn ?? [])], locks, sharedLock: item.kind === "index", weight, work: { kind: "post-data", item } });
      if (index) for (const l of locks) indexBuilds.set(l, [...(indexBuilds.get(l) ?? []), item.id]);
    }
  } else {
    // Captured before items carried dependencies: batch after batch, as restore always ran them.
    let previous = [ALL_DATA];
    for (const batch of postDataBatches(post)) {
      const ids = batch.items.map((item) => {
        tasks.push({ id: item.id, deps: previous, locks: lockSet(item), sharedLock: batch.parallel && item.kind === "index", weight: 0, work: { kind: "post-data", item } });
        return item.id;
      });
      previous = ids;
    }
  }
  if (opts.analyze) {
    for (const t of manifest.tables) {
      const id = tableId(t);
      tasks.push({ id: `analyze ${t.schema}.${t.table}`, deps: [...(byTable.get(id) ?? []), ...(indexBuilds.get(id) ?? [])], locks: [id], sharedLock: false, weight: t.rawBytes, work: { kind: "analyze", table: t } });
    }
  }
  return tasks;
}

/** A marker task: all data is loaded. Runs nothing. */
const BARRIER: DdlItem = { id: ALL_DATA, kind: "barrier", name: ALL_DATA, section: "post-data", phase: 0, sql: "", catalogKeys: [] };
export const isBarrier = (t: RestoreTask): boolean => t.id === ALL_DATA;

/** Partitioned table id -> its partitions' ids (transitively), from the backup's `partition attach` items. */
function partitionsOf(items: readonly DdlItem[]): Map<string, string[]> {
  const direct = new Map<string, string[]>();
  for (const i of items) {
    if (i.kind !== "partition attach") continue;
    const self = `table ${i.name}`;
    for (const parent of (i.dependsOn ?? []).filter((d) => d.startsWith("table ") && d !== self)) direct.set(parent, [...(direct.get(parent) ?? []), self]);
  }
  const all = new Map<string, string[]>();
  const walk = (t: string, seen: Set<string>): string[] => (direct.get(t) ?? []).flatMap((c) => (seen.has(c) ? [] : (seen.add(c), [c, ...walk(c, seen)])));
  for (const t of direct.keys()) all.set(t, walk(t, new Set([t])));
  return all;
}

/** Whether `task` may start while `running` run: no table locked by both, unless both locks are shared. */
export function conflicts(task: RestoreTask, running: Iterable<RestoreTask>): boolean {
  for (const r of running) {
    if (task.sharedLock && r.sharedLock) continue;
    if (task.locks.some((l) => r.locks.includes(l))) return true;
  }
  return false;
}

/**
 * Runs the tasks on the workers: each free worker takes the heaviest ready task that conflicts
 * with none running. The first failure stops new tasks from starting and is rethrown once the
 * running ones settled. `run` is not called for the barrier.
 */
export async function runTasks<W>(workers: readonly W[], tasks: readonly RestoreTask[], run: (worker: W, task: RestoreTask) => Promise<void>): Promise<void> {
  const known = new Set(tasks.map((t) => t.id));
  const waiting = new Map(tasks.map((t) => [t.id, new Set(t.deps.filter((d) => known.has(d) && d !== t.id))]));
  const dependents = new Map<string, RestoreTask[]>();
  for (const t of tasks) for (const d of waiting.get(t.id)!) dependents.set(d, [...(dependents.get(d) ?? []), t]);
  const order = new Map(tasks.map((t, i) => [t.id, i]));
  const ready = new TinyQueue<RestoreTask>([], (a, b) => b.weight - a.weight || order.get(a.id)! - order.get(b.id)!);
  const running = new Set<RestoreTask>();
  const free = [...workers];
  let done = 0;
  let failed: { error: unknown } | undefined;

  const release = (t: RestoreTask): void => {
    // A barrier completes as soon as it is ready, releasing what waits on it.
    if (isBarrier(t)) finish(t);
    else ready.push(t);
  };
  const finish = (t: RestoreTask): void => {
    done++;
    for (const d of dependents.get(t.id) ?? []) {
      const w = waiting.get(d.id)!;
      w.delete(t.id);
      if (w.size === 0) release(d);
    }
  };
  return new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (!failed && free.length > 0 && ready.length > 0) {
        // The heaviest ready task that conflicts with none running; those that do wait their turn.
        const held: RestoreTask[] = [];
        let task: RestoreTask | undefined;
        while ((task = ready.pop()) !== undefined && conflicts(task, running)) held.push(task);
        held.forEach((h) => ready.push(h));
        if (!task) break;
        const worker = free.shift()!;
        running.add(task);
        const settled = (error?: { error: unknown }) => {
          running.delete(task!);
          free.push(worker);
          if (error) failed ??= error;
          else finish(task!);
          pump();
        };
        run(worker, task).then(() => settled(), (error: unknown) => settled({ error }));
      }
      if (running.size > 0) return;
      if (failed) return reject(failed.error);
      if (done === tasks.length) return resolve();
      reject(new Error(`restore tasks cannot proceed: ${tasks.length - done} wait on one another (${tasks.filter((t) => waiting.get(t.id)!.size > 0).slice(0, 3).map((t) => t.id).join(", ")})`));
    };
    tasks.filter((t) => waiting.get(t.id)!.size === 0).forEach(release);
    pump();
  });
}

/**
 * maintenance_work_mem for each connection building indexes, in kB: a quarter of the memory the
 * server says it caches with (effective_cache_size, 75 % of RAM on RDS), shared by the `jobs`
 * connections building at once, at most twice shared_buffers each and 2 GiB; never below the
 * server's own setting.
 */
export function maintenanceMemoryKb(jobs: number, server: { current: number; effectiveCache: number; sharedBuffers: number }): number {
  const each = Math.min(server.effectiveCache / 4 / Math.max(1, jobs), 2 * server.sharedBuffers, 2 * 1024 ** 3);
  return Math.floor(Math.max(server.current, each) / 1024);
}
