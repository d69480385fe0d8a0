/** COPY statements, the COPY of a unit (a table or a chunk of one), and the order units run in. */
import { describe, expect, it } from "vitest";
import { unitCopySql } from "../../packages/core/src/dump/chunks.ts";
import { largestFirst, type PlanUnit } from "../../packages/core/src/dump/dump-plan.ts";
import { copyFromSql, copyToSql } from "../../packages/core/src/pg/copy-sql.ts";

describe("COPY statements", () => {
  it("quote every name, doubling quotes inside it, so case, keywords and punctuation survive", () => {
    expect(copyToSql({ schema: "public", name: "actor", columns: ["actor_id", "first_name"] })).toBe(`COPY "public"."actor" ("actor_id", "first_name") TO STDOUT`);
    expect(copyToSql({ schema: "Mixed Case", name: 'we"ird', columns: ["select", "Ünïcode", "a b"] })).toBe(`COPY "Mixed Case"."we""ird" ("select", "Ünïcode", "a b") TO STDOUT`);
    expect(copyFromSql({ schema: "s", table: 't";drop table x;--', columns: ['c"'] })).toBe(`COPY "s"."t"";drop table x;--" ("c""") FROM STDIN`);
  });

  it("name no columns for a table that has none", () => {
    expect(copyToSql({ schema: "public", name: "empty", columns: [] })).toBe(`COPY "public"."empty" TO STDOUT`);
    expect(copyFromSql({ schema: "public", table: "empty", columns: [] })).toBe(`COPY "public"."empty" FROM STDIN`);
  });
});

describe("units", () => {
  const t = { schema: "Mixed Case", name: 'we"ird', columns: ["id", "select"] };

  it("read a whole table as COPY table does, and a chunk through a query on ONLY the table", () => {
    expect(unitCopySql(t, { by: "all" })).toBe(`COPY "Mixed Case"."we""ird" ("id", "select") TO STDOUT`);
    expect(unitCopySql(t, { by: "key", column: "id", from: "100", to: "200", nulls: false })).toBe(
      `COPY (SELECT "id", "select" FROM ONLY "Mixed Case"."we""ird" WHERE "id" >= 100 AND "id" < 200) TO STDOUT`,
    );
    // The first range is open below and takes the NULLs of a unique, nullable key; the last is open above.
    expect(unitCopySql(t, { by: "key", column: "id", to: "100", nulls: true })).toContain(`WHERE ("id" < 100 OR "id" IS NULL)`);
    expect(unitCopySql(t, { by: "key", column: "id", from: "9007199254740993", nulls: false })).toContain(`WHERE "id" >= 9007199254740993)`);
    expect(unitCopySql(t, { by: "ctid", fromPage: 0, toPage: 128 })).toContain(`WHERE ctid >= '(0,0)'::pg_catalog.tid AND ctid < '(128,0)'::pg_catalog.tid`);
    expect(unitCopySql(t, { by: "ctid", fromPage: 128 })).toContain(`WHERE ctid >= '(128,0)'::pg_catalog.tid)`);
  });

  it("refuse a bound that is not an integer: it goes into SQL", () => {
    expect(() => unitCopySql(t, { by: "key", column: "id", from: "1; DROP TABLE x", nulls: false })).toThrow();
  });

  it("run largest first, in plan order among equals, the large objects last", () => {
    const u = (unit: number, sizeBytes: number): PlanUnit => ({ kind: "table", unit, table: unit, part: 0, key: `k${unit}`, range: { by: "all" }, sizeBytes });
    const lo: PlanUnit = { kind: "large-objects", unit: 9, key: "large-objects", count: 3 };
    expect(largestFirst([u(0, 10), lo, u(1, 1000), u(2, 100), u(3, 10)]).map((x) => x.unit)).toEqual([1, 2, 0, 3, 9]);
  });
});
