/** Verify in place (issue 13): the parts a Map runs over and the scratch database's name: pure. */
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../packages/core/src/dump/commit-backup.ts";
import type { DumpPlan, UnitMarker } from "../../packages/core/src/dump/dump-plan.ts";
import { scratchDatabase, verdictKey, verifyParts } from "../../packages/core/src/verify/verify-in-place.ts";

const sha = (c: string) => c.repeat(64);
const plan: DumpPlan = {
  format: "cobalt-backup-plan/1",
  id: "shop/20261130T010000.000Z",
  consistency: "frozen",
  startedAt: "2026-11-30T01:00:00.000Z",
  source: { kind: "rds-snapshot", host: "h", port: 5432, database: "shop", user: "u", serverVersion: "15.18", serverVersionNum: 150018, encoding: "UTF8", snapshotTime: "2026-11-30T00:59:00.000Z" },
  settings: { compression: "zstd", encryption: null, lockUntil: null, splitLargerThan: 1024, jobs: 2 },
  schema: { kind: "schema", key: "schema.json.zst", items: 3, bytes: 100, sha256: sha("a") },
  tables: [
    { schema: "public", table: "big", columns: ["id"], sizeBytes: 3000 },
    { schema: "public", table: "small", columns: ["id"], sizeBytes: 10 },
  ],
  units: [
    { kind: "table", unit: 0, table: 0, part: 0, key: "data/0001.001.copy.zst", range: { by: "key", column: "id", to: "10", nulls: false }, sizeBytes: 1000 },
    { kind: "table", unit: 1, table: 0, part: 1, key: "data/0001.002.copy.zst", range: { by: "key", column: "id", from: "10", to: "20", nulls: false }, sizeBytes: 1000 },
    { kind: "table", unit: 2, table: 0, part: 2, key: "data/0001.003.copy.zst", range: { by: "key", column: "id", from: "20", nulls: false }, sizeBytes: 1000 },
    { kind: "table", unit: 3, table: 1, part: 0, key: "data/0002.copy.zst", range: { by: "all" }, sizeBytes: 10 },
    { kind: "large-objects", unit: 4, key: "large-objects.zst", count: 2 },
  ],
  sequences: [],
  matviews: [],
  inventory: [],
  schemaMs: 1,
};
const marker = (unit: number): UnitMarker => ({ unit, key: plan.units[unit]!.key, rows: 1, bytes: 1, sha256: sha("b"), rawBytes: 1, rawSha256: sha("c"), attempt: "a" });
const manifest = buildManifest(plan, [0, 1, 2, 3, 4].map(marker), { tool: { name: "cobalt-backup", version: "t" }, completedAt: new Date("2026-11-30T01:10:00.000Z"), attempt: "a" });

describe("verify in place", () => {
  it("runs over every table part, each one item naming its table and place, then the large objects", () => {
    expect(verifyParts(manifest)).toEqual([
      { part: 0, kind: "table", table: 0, index: 0 },
      { part: 1, kind: "table", table: 0, index: 1 },
      { part: 2, kind: "table", table: 0, index: 2 },
      { part: 3, kind: "table", table: 1, index: 0 },
      { part: 4, kind: "large-objects" },
    ]);
    expect(verifyParts({ ...manifest, largeObjects: null }).map((p) => p.kind)).toEqual(["table", "table", "table", "table"]);
    expect(verdictKey(4)).toBe("verify/parts/00004.json");
  });

  it("names one scratch database per backup id, a plain identifier PostgreSQL keeps whole", () => {
    const a = scratchDatabase("shop/20261130T010000.000Z");
    expect(a).toMatch(/^cobalt_inplace_[0-9a-f]{16}$/);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(scratchDatabase("shop/20261130T010000.000Z")).toBe(a);
    expect(scratchDatabase("shop/20261201T010000.000Z")).not.toBe(a);
  });
});
