/** Verify in place (issue 13): the parts a Map runs over and the scratch database's name: pure. */
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../packages/core/src/dump/commit-backup.ts";
import type { UnitMarker } from "../../packages/core/src/dump/dump-plan.ts";
import { scratchDatabase, verdictKey, verifyParts } from "../../packages/core/src/verify/verify-in-place.ts";
import { sha, twoTablePlan } from "../support/plan-fixture.ts";

const plan = twoTablePlan(3);
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
