/**
 * Unit tests (no server) of issue 14's pure logic: which objects a selection restores (the
 * closure through `dependsOn`, what is skipped and reported, what the target already has), and
 * how restore schedules its work (parts side by side, index builds beside other loads, foreign
 * keys that touch one table never at once, index build memory).
 */
import { describe, expect, it } from "vitest";
import type { Manifest, TableObject } from "../../packages/core/src/manifest/manifest.ts";
import type { DdlItem } from "../../packages/core/src/schema/model.ts";
import { referenceOrder, selectObjects, type SelectedObjects } from "../../packages/core/src/catalog/select-objects.ts";
import { ALL_DATA, conflicts, maintenanceMemoryKb, planRestoreTasks, runTasks, type RestoreTask } from "../../packages/core/src/restore/restore-tasks.ts";

const SHA = "0".repeat(64);
const item = (id: string, dependsOn: string[] = [], extra: Partial<DdlItem> = {}): DdlItem => {
  const kinds = ["materialized view", "sequence owned by", "column default", "fk constraint", "partition attach", "constraint", "function", "sequence", "schema", "table", "index", "trigger", "view", "owner", "acl"];
  const kind = kinds.find((k) => id.startsWith(`${k} `))!;
  const post = ["constraint", "fk constraint", "index", "trigger"].includes(kind);
  return {
    id,
    kind,
    name: id.slice(kind.length + 1),
    section: ["owner", "acl"].includes(kind) ? "privileges" : post ? "post-data" : "pre-data",
    phase: kind === "constraint" || kind === "index" ? 1 : post ? (kind === "fk constraint" ? 3 : 4) : 0,
    sql: `-- ${id}`,
    catalogKeys: [],
    dependsOn,
    ...extra,
  };
};
const table = (schema: string, name: string, parts = 1, rawBytes = 100): TableObject => ({
  kind: "table-data",
  schema,
  table: name,
  columns: ["id"],
  rows: parts * 10,
  rawBytes,
  bytes: rawBytes,
  parts: Array.from({ length: parts }, (_, i) => ({ key: `data/${name}.${i}`, bytes: 1, sha256: SHA, rows: 10, rawBytes: rawBytes / parts, rawSha256: SHA })),
});
const manifestOf = (tables: TableObject[], sequences: string[] = []): Manifest =>
  ({ tables, sequences: sequences.map((s) => ({ schema: s.split(".")[0]!, name: s.split(".")[1]!, lastValue: "5", isCalled: true })), matviews: [], largeObjects: null }) as unknown as Manifest;

// A pagila-shaped backup: rental has a serial sequence, a trigger calling a function, an index,
// a primary key, a foreign key to customer; payment references rental.
const ITEMS: DdlItem[] = [
  item("schema public"),
  item("schema app"),
  item("function public.last_updated()", ["schema public"]),
  item("sequence public.rental_rental_id_seq", ["schema public"]),
  item("table public.customer", ["schema public"]),
  item("table public.rental", ["schema public"]),
  item("table public.payment", ["schema public"]),
  item("table app.orders", ["schema app"]),
  item("view public.rental_view", ["table public.rental"]),
  item("column default public.rental.rental_id", ["table public.rental", "sequence public.rental_rental_id_seq"]),
  item("sequence owned by public.rental_rental_id_seq", ["sequence public.rental_rental_id_seq", "table public.rental"]),
  item("constraint public.customer.customer_pkey", ["table public.customer"]),
  item("constraint public.rental.rental_pkey", ["table public.rental"]),
  item("index public.idx_rental_customer", ["table public.rental"]),
  item("fk constraint public.rental.rental_customer_id_fkey", ["table public.rental", "table public.customer", "constraint public.customer.customer_pkey"]),
  item("fk constraint public.payment.payment_rental_id_fkey", ["table public.payment", "table public.rental", "constraint public.rental.rental_pkey"]),
  item("fk constraint app.orders.orders_customer_fkey", ["table app.orders", "table public.customer", "constraint public.customer.customer_pkey"]),
  item("trigger public.rental.last_updated", ["table public.rental", "function public.last_updated()"]),
  item("owner public.rental"),
  item("acl public.customer"),
];
const MANIFEST = manifestOf([table("public", "customer"), table("public", "rental"), table("public", "payment"), table("app", "orders")], ["public.rental_rental_id_seq"]);
const select = (...args: Parameters<typeof selectObjects> extends [unknown, unknown, ...infer R] ? R : never): SelectedObjects => {
  const r = selectObjects(MANIFEST, ITEMS, ...args);
  if ("_tag" in r) throw new Error(r.message);
  return r;
};
const ids = (s: SelectedObjects) => s.items.map((i) => i.id);

describe("selecting part of a backup", () => {
  it("one table into an empty database: what it needs, what it carries, and its foreign key to a table left out skipped", () => {
    const s = select({ tables: ["public.rental"] }, "all", new Set());
    expect(ids(s)).toEqual([
      "schema public",
      "function public.last_updated()",
      "sequence public.rental_rental_id_seq",
      "table public.rental",
      "column default public.rental.rental_id",
      "sequence owned by public.rental_rental_id_seq",
      "constraint public.rental.rental_pkey",
      "index public.idx_rental_customer",
      "trigger public.rental.last_updated",
      "owner public.rental",
    ]);
    expect(s.dependencies.sort()).toEqual(["function public.last_updated()", "schema public", "sequence public.rental_rental_id_seq"]);
    expect(s.skipped).toEqual([{ object: "fk constraint public.rental.rental_customer_id_fkey", missing: ["table public.customer"] }]);
    expect(s.tables.map((t) => t.table)).toEqual(["rental"]);
    expect(s.sequences.map((q) => q.name)).toEqual(["rental_rental_id_seq"]);
    expect(s.conflicts).toEqual([]);
  });

  it("uses what the target has: its schema and function are not created, the foreign key to its table is, and one into the restored table is re-added", () => {
    const present = new Set(["schema public", "function public.last_updated()", "table public.customer", "constraint public.customer.customer_pkey", "table public.payment"]);
    const s = select({ tables: ["rental"] }, "all", present);
    expect(s.dependencies).toEqual(["sequence public.rental_rental_id_seq"]);
    expect(ids(s)).toContain("fk constraint public.rental.rental_customer_id_fkey");
    expect(ids(s)).toContain("fk constraint public.payment.payment_rental_id_fkey");
    expect(s.optional).toEqual(["fk constraint public.payment.payment_rental_id_fkey"]);
    expect(ids(s)).not.toContain("function public.last_updated()");
    expect(s.skipped).toEqual([]);
  });

  it("names selected objects the target already has, and refuses names the backup lacks", () => {
    expect(select({ tables: ["public.rental"] }, "all", new Set(["schema public", "table public.rental"])).conflicts).toEqual(["table public.rental"]);
    const r = selectObjects(MANIFEST, ITEMS, { tables: ["public.nope"], schemas: ["nowhere"] }, "all", new Set());
    expect("_tag" in r && r).toMatchObject({ _tag: "SelectionInvalid", unknown: ["table public.nope", "schema nowhere"] });
  });

  it("a schema: its objects and what they need from other schemas; data-only: rows and sequence states, nothing created", () => {
    const s = select({ schemas: ["app"] }, "all", new Set(["schema public"]));
    expect(ids(s)).toEqual(["schema app", "table app.orders"]);
    expect(s.skipped.map((k) => k.object)).toEqual(["fk constraint app.orders.orders_customer_fkey"]);
    const d = select({ tables: ["public.rental"] }, "data-only", new Set());
    expect(d.items).toEqual([]);
    expect(d.tables.map((t) => t.table)).toEqual(["rental"]);
    expect(d.sequences.map((q) => q.name)).toEqual(["rental_rental_id_seq"]);
    const x = select({ excludeTables: ["public.payment"] }, "schema-only", new Set());
    expect(ids(x)).not.toContain("table public.payment");
    expect(ids(x)).not.toContain("fk constraint public.payment.payment_rental_id_fkey");
    expect(x.tables).toEqual([]);
  });

  it("no selection is the whole backup, as a full restore applies it", () => {
    const s = select({}, "all", new Set());
    expect(s.whole).toBe(true);
    expect(s.items).toEqual(ITEMS);
    expect(s.tables).toEqual(MANIFEST.tables);
  });

  it("orders a load into existing tables by their foreign keys: referenced tables first", () => {
    expect(referenceOrder(MANIFEST.tables, ITEMS).map((t) => t.table)).toEqual(["customer", "rental", "payment", "orders"]);
    expect(referenceOrder([table("public", "payment"), table("public", "rental")], ITEMS).map((t) => t.table)).toEqual(["rental", "payment"]);
  });
});

describe("scheduling restore work", () => {
  const opts = { orderedLoad: false, jobs: 2, analyze: true, largeObjects: false };

  it("loads a split table's parts side by side unless the load must keep stream order", () => {
    const m = manifestOf([table("public", "big", 3, 900), table("public", "small")]);
    const data = (o: typeof opts) => planRestoreTasks(m, [], o).filter((t) => t.work.kind === "data").map((t) => t.id);
    expect(data(opts)).toEqual(["data public.big #0", "data public.big #1", "data public.big #2", "data public.small"]);
    expect(data({ ...opts, orderedLoad: true })).toEqual(["data public.big", "data public.small"]);
    expect(data({ ...opts, jobs: 1 })).toEqual(["data public.big", "data public.small"]);
  });

  it("starts an index build once its own table is loaded; every other post-data item and ANALYZE waits as needed", () => {
    const tasks = planRestoreTasks(MANIFEST, ITEMS, opts);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    expect(byId.get("index public.idx_rental_customer")!.deps).toEqual(["data public.rental", "table public.rental"]);
    expect(byId.get("fk constraint public.rental.rental_customer_id_fkey")!.deps).toContain(ALL_DATA);
    expect(byId.get("fk constraint public.rental.rental_customer_id_fkey")!.locks.sort()).toEqual(["table public.customer", "table public.rental"]);
    expect(byId.get("analyze public.rental")!.deps).toEqual(["data public.rental", "constraint public.rental.rental_pkey", "index public.idx_rental_customer"]);
  });

  it("never runs two tasks locking one table at once unless both locks are shared", () => {
    const t = (id: string, locks: string[], sharedLock = false): RestoreTask => ({ id, deps: [], locks, sharedLock, weight: 0, work: { kind: "large-objects" } });
    expect(conflicts(t("fk a->b", ["a", "b"]), [t("fk b->a", ["b", "a"])])).toBe(true);
    expect(conflicts(t("fk a->b", ["a", "b"]), [t("fk c->d", ["c", "d"])])).toBe(false);
    expect(conflicts(t("index a1", ["a"], true), [t("index a2", ["a"], true)])).toBe(false);
    expect(conflicts(t("pkey a", ["a"]), [t("index a2", ["a"], true)])).toBe(true);
  });

  it("runs foreign keys in parallel across tables, never two touching the same table together", async () => {
    const fk = (id: string, locks: string[]): RestoreTask => ({ id, deps: [], locks, sharedLock: false, weight: 0, work: { kind: "large-objects" } });
    const tasks = [fk("a->b", ["a", "b"]), fk("b->a", ["b", "a"]), fk("c->d", ["c", "d"]), fk("d->e", ["d", "e"]), fk("f->g", ["f", "g"])];
    const running = new Set<RestoreTask>();
    const overlaps: string[][] = [];
    let most = 0;
    await runTasks(["w1", "w2", "w3"], tasks, async (_w, task) => {
      for (const r of running) if (r.locks.some((l) => task.locks.includes(l))) overlaps.push([r.id, task.id]);
      running.add(task);
      most = Math.max(most, running.size);
      await new Promise((r) => setTimeout(r, 5));
      running.delete(task);
    });
    expect(overlaps).toEqual([]);
    expect(most).toBeGreaterThan(1);
  });

  it("respects dependencies, stops at the first failure and names tasks that can never start", async () => {
    const t = (id: string, deps: string[] = []): RestoreTask => ({ id, deps, locks: [], sharedLock: true, weight: 0, work: { kind: "large-objects" } });
    const order: string[] = [];
    await runTasks(["w1", "w2"], [t("c", ["b"]), t("b", ["a"]), t("a")], async (_w, task) => void order.push(task.id));
    expect(order).toEqual(["a", "b", "c"]);
    const started: string[] = [];
    await expect(runTasks(["w1"], [t("x"), t("y", ["x"])], async (_w, task) => {
      started.push(task.id);
      throw new Error(`${task.id} failed`);
    })).rejects.toThrow("x failed");
    expect(started).toEqual(["x"]);
    await expect(runTasks(["w1"], [t("p", ["q"]), t("q", ["p"])], async () => {})).rejects.toThrow(/wait on one another/);
  });

  it("sizes index build memory from the server's memory and the builds running at once", () => {
    const MiB = 1024 * 1024;
    // Embedded defaults: 4 GiB effective_cache_size, 128 MiB shared_buffers, 64 MiB maintenance_work_mem.
    expect(maintenanceMemoryKb(2, { current: 64 * MiB, effectiveCache: 4096 * MiB, sharedBuffers: 128 * MiB })).toBe(256 * 1024);
    // An RDS-like 16 GiB server: 12 GiB cache, 4 GiB shared buffers, 4 jobs: 768 MiB each.
    expect(maintenanceMemoryKb(4, { current: 64 * MiB, effectiveCache: 12288 * MiB, sharedBuffers: 4096 * MiB })).toBe(768 * 1024);
    // Never below what the server already gives, never above 2 GiB.
    expect(maintenanceMemoryKb(8, { current: 512 * MiB, effectiveCache: 1024 * MiB, sharedBuffers: 128 * MiB })).toBe(512 * 1024);
    expect(maintenanceMemoryKb(1, { current: 64 * MiB, effectiveCache: 64 * 1024 * MiB, sharedBuffers: 16 * 1024 * MiB })).toBe(2 * 1024 * 1024);
  });
});
