/** The manifest built from a plan and its units' markers (issue 12): pure. */
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../packages/core/src/dump/commit-backup.ts";
import type { UnitMarker } from "../../packages/core/src/dump/dump-plan.ts";
import { sha, twoTablePlan } from "../support/plan-fixture.ts";

const base = twoTablePlan(2);
const plan = twoTablePlan(2, {
  source: { ...base.source, instance: "prod", snapshotId: "s1" },
  schema: { ...base.schema, items: 7 },
  sequences: [{ schema: "public", name: "s", lastValue: "5", isCalled: true }],
  inventory: [{ kind: "table", name: "public.big", sha256: sha("b") }],
  schemaMs: 40,
});
const marker = (unit: number, rows: number, attempt: string): UnitMarker => ({ unit, key: plan.units[unit]!.key, rows, bytes: 10 * (unit + 1), sha256: sha(String(unit)), rawBytes: 100 * (unit + 1), rawSha256: sha(String(unit + 4)), attempt });

describe("buildManifest", () => {
  it("lists each table's parts in order, adds up rows and sizes, counts units an earlier attempt did", () => {
    // Markers in any order: the plan decides the parts' order.
    const m = buildManifest(plan, [marker(3, 2, "b"), marker(1, 7, "a"), marker(2, 1, "b"), marker(0, 9, "b")], { tool: { name: "cobalt-backup", version: "t" }, completedAt: new Date("2026-11-30T01:10:00.000Z"), attempt: "b" });
    expect(m.format).toBe("cobalt-backup/2");
    expect(m.tables.map((t) => [t.table, t.parts.map((p) => p.key), t.rows, t.rawBytes, t.bytes])).toEqual([
      ["big", ["data/0001.001.copy.zst", "data/0001.002.copy.zst"], 16, 300, 30],
      ["small", ["data/0002.copy.zst"], 1, 300, 30],
    ]);
    expect(m.largeObjects).toMatchObject({ key: "large-objects.zst", count: 2, bytes: 40 });
    expect(m.totals).toEqual({ tables: 2, rows: 17, rawBytes: 600, storedBytes: 60 + 100 + 40 });
    expect(m.units).toEqual({ total: 4, reused: 1 });
    expect(m.consistency).toBe("frozen");
    expect(m.timings).toEqual({ schemaMs: 40, dataMs: 600_000 - 40, totalMs: 600_000 });
    expect(m.source.snapshotId).toBe("s1");
  });

  it("refuses a unit without a marker", () => {
    expect(() => buildManifest(plan, [marker(0, 1, "a")], { tool: { name: "c", version: "t" }, completedAt: new Date(), attempt: "a" })).toThrow(/unit 1 has no marker/);
  });
});
