import type { PgClient } from "../pg/session.js";
import { rows } from "./catalog.js";
import type { SchemaError } from "./errors.js";
import type { DdlItem } from "./model.js";

/** Tie-break among objects whose dependencies allow either order: the order pg_dump uses. */
const PRE_DATA_RANK: Record<string, number> = {
  schema: 0,
  extension: 1,
  collation: 2,
  type: 3,
  domain: 3,
  function: 4,
  procedure: 4,
  aggregate: 5,
  sequence: 6,
  table: 7,
  "partition attach": 8,
  "column default": 8,
  "sequence owned by": 9,
  view: 10,
  "materialized view": 11,
};

/**
 * Orders pre-data items so every object comes after what it depends on (pg_depend's normal
 * dependencies plus explicit `dependsOn`), and post-data items by phase. Returns a cycle error
 * naming the objects when no order exists.
 */
export async function orderItems(client: PgClient, items: DdlItem[]): Promise<DdlItem[] | SchemaError> {
  const pre = items.filter((i) => i.section === "pre-data");
  const post = items.filter((i) => i.section === "post-data");

  const byKey = new Map<string, number>();
  pre.forEach((item, index) => item.catalogKeys.forEach((k) => byKey.set(k, index)));
  const byId = new Map(pre.map((item, index) => [item.id, index]));

  const deps = await rows<{ classid: string; objid: number; refclassid: string; refobjid: number; deptype: string }>(
    client,
    `SELECT c1.relname AS classid, d.objid, c2.relname AS refclassid, d.refobjid, d.deptype
       FROM pg_catalog.pg_depend d
       JOIN pg_catalog.pg_class c1 ON c1.oid = d.classid
       JOIN pg_catalog.pg_class c2 ON c2.oid = d.refclassid
      WHERE d.deptype IN ('n', 'e') AND d.objid >= 16384`,
  );
  // Extension members stand for their extension: a column of type hstore needs `hstore`.
  for (const d of deps) {
    if (d.deptype !== "e") continue;
    const ext = byKey.get(`${d.refclassid}:${d.refobjid}`);
    if (ext !== undefined) byKey.set(`${d.classid}:${d.objid}`, ext);
  }
  const edges: Set<number>[] = pre.map(() => new Set());
  for (const d of deps) {
    if (d.deptype !== "n") continue;
    const from = byKey.get(`${d.refclassid}:${d.refobjid}`);
    const to = byKey.get(`${d.classid}:${d.objid}`);
    if (from !== undefined && to !== undefined && from !== to) edges[to]!.add(from);
  }
  pre.forEach((item, index) => {
    for (const id of item.dependsOn ?? []) {
      const from = byId.get(id);
      if (from !== undefined && from !== index) edges[index]!.add(from);
    }
  });

  const rank = (i: number) => [PRE_DATA_RANK[pre[i]!.kind] ?? 50, i] as const;
  const remaining = new Set(pre.keys());
  const done = new Set<number>();
  const ordered: DdlItem[] = [];
  while (remaining.size > 0) {
    let best: number | undefined;
    for (const i of remaining) {
      if ([...edges[i]!].some((d) => !done.has(d))) continue;
      if (best === undefined) best = i;
      else {
        const [ra, ia] = rank(i);
        const [rb, ib] = rank(best);
        if (ra < rb || (ra === rb && ia < ib)) best = i;
      }
    }
    if (best === undefined) {
      const names = [...remaining].map((i) => pre[i]!.id);
      return {
        _tag: "DependencyCycle",
        objects: names,
        message: `cannot order these objects, their dependencies form a cycle: ${names.slice(0, 8).join(", ")}`,
      };
    }
    remaining.delete(best);
    done.add(best);
    ordered.push(pre[best]!);
  }
  const postOrdered = post.map((item, i) => ({ item, i })).sort((a, b) => a.item.phase - b.item.phase || a.i - b.i).map((x) => x.item);
  return [...ordered, ...postOrdered, ...items.filter((i) => i.section === "privileges")];
}
