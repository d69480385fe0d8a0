/** COPY statements and the order tables are read in. */
import { describe, expect, it } from "vitest";
import { copyPlan } from "../../packages/core/src/dump/copy-plan.ts";
import { copyFromSql, copyToSql } from "../../packages/core/src/pg/copy-sql.ts";
import type { TableData } from "../../packages/core/src/schema/model.ts";

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

describe("copy plan", () => {
  const table = (name: string, sizeBytes: number) => ({ schema: "public", name, columns: ["a"], sizeBytes }) as unknown as TableData;

  it("reads the largest tables first, keeping catalog order among equals, and numbers files in catalog order", () => {
    const plan = copyPlan([table("small", 10), table("big", 1000), table("mid", 100), table("small2", 10)]);
    expect(plan.map((e) => [e.table.name, e.order, e.file])).toEqual([
      ["big", 1, "0002"],
      ["mid", 2, "0003"],
      ["small", 0, "0001"],
      ["small2", 3, "0004"],
    ]);
  });

  it("widens file numbers beyond 9,999 tables so they still sort", () => {
    const plan = copyPlan(Array.from({ length: 10_000 }, (_, i) => table(`t${i}`, 0)));
    expect(plan[0]!.file).toBe("00001");
    expect(plan[9_999]!.file).toBe("10000");
  });
});
