/** A frozen backup's plan for the pure tests of what is built from plans (manifests, verify parts). */
import type { DumpPlan, PlanUnit } from "../../packages/core/src/dump/dump-plan.ts";

/** A sha256 hex of one repeated character. */
export const sha = (c: string) => c.repeat(64);

/**
 * Two tables: `big` (3000 bytes) in `bigParts` key-range chunks of `id`, bounds 10, 20, ...; and
 * `small`, whole; then the large objects. `overrides` replaces top-level fields.
 */
export function twoTablePlan(bigParts: number, overrides: Partial<DumpPlan> = {}): DumpPlan {
  const bound = (i: number) => String(10 * i);
  const big: PlanUnit[] = Array.from({ length: bigParts }, (_, i) => ({
    kind: "table",
    unit: i,
    table: 0,
    part: i,
    key: `data/0001.${String(i + 1).padStart(3, "0")}.copy.zst`,
    range: { by: "key", column: "id", ...(i > 0 ? { from: bound(i) } : {}), ...(i < bigParts - 1 ? { to: bound(i + 1) } : {}), nulls: false },
    sizeBytes: 3000 / bigParts,
  }));
  return {
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
      ...big,
      { kind: "table", unit: bigParts, table: 1, part: 0, key: "data/0002.copy.zst", range: { by: "all" }, sizeBytes: 10 },
      { kind: "large-objects", unit: bigParts + 1, key: "large-objects.zst", count: 2 },
    ],
    sequences: [],
    matviews: [],
    inventory: [],
    schemaMs: 1,
    ...overrides,
  };
}
