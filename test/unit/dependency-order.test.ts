/**
 * Unit tests of the dependency ordering (issue 9) on hand-made pg_depend rows: the loops
 * pg_dump_sort.c repairs, the error for one nothing repairs, post-data batches, and scale.
 */
import { describe, expect, it } from "vitest";
import type { DdlItem, DdlNode } from "../../packages/core/src/schema/model.ts";
import { orderNodes, type CatalogDependency } from "../../packages/core/src/schema/order.ts";
import { postDataBatches } from "../../packages/core/src/restore/post-data-batches.ts";

const item = (id: string, keys: string[], extra: Partial<DdlItem> = {}): DdlItem => ({
  id,
  kind: id.split(" ").slice(0, -1).join(" "),
  name: id.split(" ").at(-1)!,
  section: "pre-data",
  phase: 0,
  sql: `-- ${id}`,
  catalogKeys: keys,
  ...extra,
});
const post = (id: string, keys: string[], phase = 1) => item(id, keys, { section: "post-data", phase });
const dep = (from: string, to: string, deptype = "n"): CatalogDependency => {
  const [classid, objid] = from.split(":");
  const [refclassid, refobjid] = to.split(":");
  return { classid: classid!, objid: Number(objid), refclassid: refclassid!, refobjid: Number(refobjid), deptype };
};
const view = (name: string, n: number): DdlNode => ({
  item: item(`view ${name}`, [`pg_class:${n}`]),
  parts: [post(`view definition ${name}`, [`pg_rewrite:${n}`], 2)],
  renderWithout: (split) => (split.size ? `-- placeholder ${name}` : `-- view ${name}`),
});
const ordered = (nodes: DdlNode[], deps: CatalogDependency[]) => {
  const r = orderNodes(nodes, deps);
  if ("_tag" in r) throw new Error(r.message);
  return r.items;
};

describe("dependency order", () => {
  it("puts a view that groups by a primary key before the data as a placeholder, and its query after the key", () => {
    const nodes: DdlNode[] = [
      view("v", 30), // captured first, but needs t and t's primary key
      { item: item("table t", ["pg_class:10"]) },
      { item: post("constraint t_pkey", ["pg_constraint:11"]) },
      view("w", 40), // a view on the view: the placeholder is enough for it
    ];
    const items = ordered(nodes, [dep("pg_rewrite:30", "pg_class:10"), dep("pg_rewrite:30", "pg_constraint:11"), dep("pg_constraint:11", "pg_class:10", "a"), dep("pg_rewrite:40", "pg_class:30")]);
    expect(items.map((i) => `${i.section} ${i.id}`)).toEqual([
      "pre-data table t",
      "pre-data view v",
      "pre-data view w",
      "post-data constraint t_pkey",
      "post-data view definition v",
    ]);
    expect(items.find((i) => i.id === "view v")!.sql).toBe("-- placeholder v");
    expect(items.find((i) => i.id === "view w")!.sql).toBe("-- view w");
    expect(items.find((i) => i.id === "view definition v")!.dependsOn).toEqual(expect.arrayContaining(["table t", "constraint t_pkey", "view v"]));
  });

  it("moves a materialized view that needs a primary key after the data, with its index after it", () => {
    const items = ordered(
      [
        { item: item("table t", ["pg_class:10"]) },
        { item: item("materialized view m", ["pg_class:20", "pg_rewrite:21"]), postponable: true },
        { item: post("constraint t_pkey", ["pg_constraint:11"]) },
        { item: post("index m_id", ["pg_class:22"]) },
      ],
      [dep("pg_rewrite:21", "pg_constraint:11"), dep("pg_class:22", "pg_class:20", "a")],
    );
    expect(items.map((i) => `${i.section} ${i.id}`)).toEqual(["pre-data table t", "post-data constraint t_pkey", "post-data materialized view m", "post-data index m_id"]);
    expect(postDataBatches(items.filter((i) => i.section === "post-data")).map((b) => b.items.map((i) => i.id))).toEqual([
      ["constraint t_pkey"],
      ["materialized view m"],
      ["index m_id"],
    ]);
  });

  it("splits a CHECK that calls a function on the table's own row type off after the data", () => {
    const items = ordered(
      [
        { item: item("function ok(t)", ["pg_proc:30"]) },
        {
          item: item("table t", ["pg_class:10", "pg_type:11"]),
          parts: [post("check constraint t.sane", ["pg_constraint:12"], 3)],
          renderWithout: (split) => `-- table t without ${[...split].join(",")}`,
        },
      ],
      [dep("pg_constraint:12", "pg_proc:30"), dep("pg_proc:30", "pg_type:11"), dep("pg_constraint:12", "pg_class:10", "a")],
    );
    expect(items.map((i) => `${i.section} ${i.id}`)).toEqual(["pre-data table t", "pre-data function ok(t)", "post-data check constraint t.sane"]);
    expect(items[0]!.sql).toBe("-- table t without check constraint t.sane");
  });

  it("leaves a CHECK inside its table when nothing loops", () => {
    const items = ordered(
      [
        { item: item("function ok(int)", ["pg_proc:30"]) },
        { item: item("table t", ["pg_class:10"]), parts: [post("check constraint t.sane", ["pg_constraint:12"], 3)], renderWithout: () => "split" },
      ],
      [dep("pg_constraint:12", "pg_proc:30"), dep("pg_constraint:12", "pg_class:10", "a")],
    );
    expect(items.map((i) => i.id)).toEqual(["function ok(int)", "table t"]);
    expect(items[1]!.sql).toBe("-- table t");
    expect(items[1]!.dependsOn).toEqual(["function ok(int)"]);
  });

  it("refuses a loop nothing repairs, naming its members and not what merely waits on it", () => {
    const r = orderNodes(
      [
        { item: item("table t", ["pg_class:10"]) },
        { item: item("column default t.a", ["pg_attrdef:13"]) },
        { item: item("function f()", ["pg_proc:30"]), postponable: true },
        { item: post("constraint t_pkey", ["pg_constraint:11"]) },
        { item: post("index waiting", ["pg_class:14"]) },
      ],
      [dep("pg_attrdef:13", "pg_proc:30"), dep("pg_proc:30", "pg_constraint:11"), dep("pg_class:14", "pg_class:10", "a")],
    );
    expect(r).toMatchObject({ _tag: "DependencyCycle" });
    if (!("_tag" in r) || r._tag !== "DependencyCycle") return;
    expect([...r.objects].sort()).toEqual(["column default t.a", "function f()"]);
    expect(r.message).not.toContain("waiting");
  });

  it("orders 50,000 items: a chain of functions captured in reverse, and independent indexes in one parallel batch", () => {
    const n = 25_000;
    const nodes: DdlNode[] = [];
    const deps: CatalogDependency[] = [];
    for (let i = 0; i < n; i++) {
      // Captured in reverse: every function calls the one created after it.
      nodes.push({ item: item(`function f${i}`, [`pg_proc:${100_000 + i}`]) });
      if (i > 0) deps.push(dep(`pg_proc:${100_000 + i - 1}`, `pg_proc:${100_000 + i}`));
      nodes.push({ item: post(`index i${i}`, [`pg_class:${200_000 + i}`]) });
    }
    const items = ordered(nodes, deps);
    expect(items).toHaveLength(2 * n);
    expect(items[0]!.id).toBe(`function f${n - 1}`);
    expect(items[n - 1]!.id).toBe("function f0");
    expect(postDataBatches(items.slice(n))).toHaveLength(1);
  });
});
