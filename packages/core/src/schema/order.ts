import TinyQueue from "tinyqueue";
import type { Queryable } from "../pg/query-pool.js";
import { rows } from "./catalog.js";
import type { SchemaError } from "./errors.js";
import { POST_DATA_PHASE, type DdlItem, type DdlNode } from "./model.js";

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

/** One vertex of the dependency graph: an item, a part of one, or the data boundary. */
interface Vertex {
  item: DdlItem;
  /** For a part: the vertex of the item it is rendered inside unless split off. */
  parent?: number;
  split: boolean;
  postponable: boolean;
  /** Vertices that must come first. */
  deps: Set<number>;
  /** Capture order, the last tie-break. */
  seq: number;
}

export interface OrderedSchema {
  /** Pre-data then post-data items, each after everything it depends on. */
  items: DdlItem[];
}

/** The catalog's dependencies between user objects, as `orderNodes` takes them. */
export async function readDependencies(client: Queryable): Promise<CatalogDependency[]> {
  return rows<CatalogDependency>(
    client,
    // Normal and automatic dependencies, and extension membership. A sequence's automatic
    // dependency on the column that owns it is left out: OWNED BY is an item of its own, after both.
    `SELECT c1.relname AS classid, d.objid, c2.relname AS refclassid, d.refobjid, d.deptype
       FROM pg_catalog.pg_depend d
       JOIN pg_catalog.pg_class c1 ON c1.oid = d.classid
       JOIN pg_catalog.pg_class c2 ON c2.oid = d.refclassid
      WHERE d.deptype IN ('n', 'a', 'e') AND d.objid >= 16384
        AND NOT (d.deptype = 'a' AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0
                 AND EXISTS (SELECT 1 FROM pg_catalog.pg_class s WHERE s.oid = d.objid AND s.relkind = 'S'))`,
  );
}

/** One pg_depend row, catalogs by name: `classid:objid` depends on `refclassid:refobjid`. */
export interface CatalogDependency {
  classid: string;
  objid: number;
  refclassid: string;
  refobjid: number;
  /** `n` normal, `a` automatic, `e` extension membership. */
  deptype: string;
}

/**
 * Orders every item after what it depends on: pg_depend (views and rules through `pg_rewrite`,
 * defaults, CHECKs, index expressions, policies, domains, SQL-standard bodies), plus the data
 * boundary (pre-data before the load, post-data after it). Loops are repaired the way pg_dump's
 * `repairDependencyLoop` repairs them: a view in a loop becomes a placeholder before the data
 * and `CREATE OR REPLACE VIEW` after it; a materialized view or a SQL-standard function that
 * needs something created after the data (a primary key it groups by) moves after the data; a
 * table's or domain's CHECK constraint in a loop is split off and added after the data. What is
 * still circular is refused with the loop's members.
 *
 * O((V + E) log V) per pass; a pass repairs every disjoint loop it finds. Pure: the dependencies
 * are read by `readDependencies`.
 */
export function orderNodes(nodes: readonly DdlNode[], deps: readonly CatalogDependency[]): OrderedSchema | SchemaError {
  const graph = buildGraph(nodes);
  graph.addCatalogDependencies(deps);
  for (let pass = 0; ; pass++) {
    const sorted = graph.sort();
    if (sorted.ok) return { items: graph.emit(sorted.order) };
    const repaired = graph.repairLoops(sorted.remaining);
    if (repaired !== true) {
      const chain = [...repaired, repaired[0]!].map((v) => graph.vertices[v]!.item.id);
      return {
        _tag: "DependencyCycle",
        objects: repaired.map((v) => graph.vertices[v]!.item.id).filter((id) => id !== DATA_ITEM.id),
        message: `cannot order these objects, each must be created after the next and no restore order satisfies that: ${chain.join(" -> ")}`,
      };
    }
    if (pass > graph.vertices.length) throw new Error("dependency loop repair did not converge");
  }
}

const DATA_ITEM: DdlItem = { id: "(the table data)", kind: "data", name: "table data", section: "pre-data", phase: 0, sql: "", catalogKeys: [] };

function buildGraph(nodes: readonly DdlNode[]) {
  const vertices: Vertex[] = [];
  const owners = new Map<number, DdlNode>();
  const byKey = new Map<string, number>();
  const byId = new Map<string, number>();
  const add = (item: DdlItem, extra: Partial<Vertex> = {}): number => {
    const v = vertices.length;
    vertices.push({ item: { ...item }, split: false, postponable: false, deps: new Set(), seq: v, ...extra });
    for (const k of item.catalogKeys) byKey.set(k, v);
    byId.set(item.id, v);
    return v;
  };
  const pending: { v: number; ids: string[]; keys: string[] }[] = [];
  for (const node of nodes) {
    const v = add(node.item, { postponable: node.postponable ?? false });
    owners.set(v, node);
    pending.push({ v, ids: node.item.dependsOn ?? [], keys: node.dependsOnKeys ?? [] });
    // A part is inside its item: the item needs it, and its own link back is implied.
    for (const part of node.parts ?? []) vertices[v]!.deps.add(add(part, { parent: v }));
  }
  const DATA = add(DATA_ITEM);
  for (const { v, ids, keys } of pending) {
    for (const id of ids) link(v, byId.get(id));
    for (const k of keys) link(v, byKey.get(k));
  }
  vertices.forEach((x, v) => {
    if (x.parent !== undefined || v === DATA) return;
    if (x.item.section === "pre-data") vertices[DATA]!.deps.add(v);
    else vertices[v]!.deps.add(DATA);
  });

  function link(from: number, to: number | undefined): void {
    if (to === undefined || to === from) return;
    // A part's dependency on its own item is implied by being rendered inside it.
    if (vertices[from]!.parent === to) return;
    vertices[from]!.deps.add(to);
  }

  function priority(v: number): number {
    const x = vertices[v]!;
    if (v === DATA) return 1e12;
    // A part left inside its item is ranked as that item.
    const item = x.parent !== undefined && !x.split ? vertices[x.parent]!.item : x.item;
    const rank = item.section === "pre-data" ? (PRE_DATA_RANK[item.kind] ?? 50) : 2000 + item.phase * 10;
    return rank * 1e8 + vertices[v]!.seq;
  }

  return {
    vertices,
    addCatalogDependencies(deps: readonly CatalogDependency[]) {
      // Extension members stand for their extension: a column of type hstore needs `hstore`.
      for (const d of deps) {
        if (d.deptype !== "e") continue;
        const ext = byKey.get(`${d.refclassid}:${d.refobjid}`);
        if (ext !== undefined && !byKey.has(`${d.classid}:${d.objid}`)) byKey.set(`${d.classid}:${d.objid}`, ext);
      }
      for (const d of deps) {
        if (d.deptype === "e") continue;
        const from = byKey.get(`${d.classid}:${d.objid}`);
        if (from !== undefined) link(from, byKey.get(`${d.refclassid}:${d.refobjid}`));
      }
    },

    /** Kahn's algorithm with a priority queue: stable, O((V + E) log V). */
    sort(): { ok: true; order: number[] } | { ok: false; remaining: Set<number> } {
      const waiting = vertices.map((x) => x.deps.size);
      const dependents: number[][] = vertices.map(() => []);
      vertices.forEach((x, v) => x.deps.forEach((d) => dependents[d]!.push(v)));
      const ready = new TinyQueue<number>([], (a, b) => priority(a) - priority(b));
      waiting.forEach((n, v) => n === 0 && ready.push(v));
      const order: number[] = [];
      while (ready.length > 0) {
        const v = ready.pop()!;
        order.push(v);
        for (const d of dependents[v]!) {
          waiting[d] = waiting[d]! - 1;
          if (waiting[d] === 0) ready.push(d);
        }
      }
      if (order.length === vertices.length) return { ok: true, order };
      const done = new Set(order);
      const remaining = new Set<number>();
      vertices.forEach((_, v) => done.has(v) || remaining.add(v));
      return { ok: false, remaining };
    },

    /**
     * Repairs each disjoint loop among the vertices that could not be sorted; returns true when
     * at least one was repaired, or the members of a loop nothing can repair.
     */
    repairLoops(remaining: Set<number>): true | number[] {
      let repaired = false;
      let stuck: number[] | undefined;
      for (const component of stronglyConnected(vertices, remaining)) {
        const processed = new Set<number>();
        // Earliest-created first, as pg_dump does: a view on a view that needs a primary key is
        // then fixed by splitting the inner one alone.
        for (const start of [...component].sort((a, b) => vertices[a]!.seq - vertices[b]!.seq)) {
          if (processed.has(start) || start === DATA) continue;
          const loop = shortestLoop(vertices, start, (v) => component.has(v) && (v === DATA || !processed.has(v)));
          if (!loop) continue;
          if (repair(loop)) {
            repaired = true;
            loop.forEach((v) => v !== DATA && processed.add(v));
          } else stuck ??= loop;
        }
      }
      return repaired ? true : (stuck ?? [...remaining]);
    },

    /** The sorted items: parts that stayed inside their item are rendered there. */
    emit(order: readonly number[]): DdlItem[] {
      const out: DdlItem[] = [];
      const splitOf = new Map<number, Set<string>>();
      vertices.forEach((x) => {
        if (x.parent !== undefined && x.split) (splitOf.get(x.parent) ?? splitOf.set(x.parent, new Set()).get(x.parent)!).add(x.item.id);
      });
      // Where a dependency is emitted: a part left inside its item is emitted with that item.
      const emittedAs = (v: number): number => (vertices[v]!.parent !== undefined && !vertices[v]!.split ? vertices[v]!.parent! : v);
      const inside = new Map<number, number[]>();
      vertices.forEach((x, v) => {
        if (x.parent !== undefined && !x.split) (inside.get(x.parent) ?? inside.set(x.parent, []).get(x.parent)!).push(v);
      });
      for (const v of order) {
        const x = vertices[v]!;
        if (v === DATA || (x.parent !== undefined && !x.split)) continue;
        const needs = new Set<string>();
        for (const member of [v, ...(inside.get(v) ?? [])]) {
          for (const d of vertices[member]!.deps) {
            const e = emittedAs(d);
            if (e !== v && e !== DATA) needs.add(vertices[e]!.item.id);
          }
        }
        const split = splitOf.get(v);
        const sql = split ? owners.get(v)!.renderWithout!(split) : x.item.sql;
        out.push({ ...x.item, sql, dependsOn: [...needs] });
      }
      return out;
    },
  };

  /** Applies the first repair pg_dump would for this loop; false when none applies. */
  function repair(loop: readonly number[]): boolean {
    const members = new Set(loop);
    const splittable = (kind: string) => loop.find((v) => {
      const p = vertices[v]!.parent;
      return p !== undefined && !vertices[v]!.split && members.has(p) && vertices[p]!.item.kind === kind;
    });
    // A view in a loop with its query: a placeholder before the data, the query after it.
    const viewQuery = splittable("view");
    if (viewQuery !== undefined) return splitOff(viewQuery), true;
    // A materialized view or SQL-standard function that needs a post-data object: after the data.
    if (members.has(DATA)) {
      const postponable = loop.filter((v) => vertices[v]!.postponable && vertices[v]!.item.section === "pre-data");
      const target = postponable.find((v) => vertices[v]!.item.kind === "materialized view") ?? postponable[0];
      if (target !== undefined) return postpone(target), true;
    }
    // A table's or a domain's CHECK constraint: added on its own, after the data.
    const check = splittable("table") ?? splittable("domain");
    if (check !== undefined) return splitOff(check), true;
    return false;
  }

  function splitOff(part: number): void {
    const x = vertices[part]!;
    vertices[x.parent!]!.deps.delete(part);
    x.split = true;
    x.deps.add(x.parent!);
    x.deps.add(DATA);
  }

  function postpone(v: number): void {
    const x = vertices[v]!;
    vertices[DATA]!.deps.delete(v);
    x.deps.add(DATA);
    x.item.section = "post-data";
    x.item.phase = POST_DATA_PHASE.attach;
  }
}

/** Tarjan's strongly connected components of the subgraph on `within`, iteratively; only loops. */
function stronglyConnected(vertices: readonly Vertex[], within: ReadonlySet<number>): Set<number>[] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const components: Set<number>[] = [];
  let counter = 0;
  for (const root of within) {
    if (index.has(root)) continue;
    const frames: { v: number; next: Iterator<number> }[] = [];
    const enter = (v: number) => {
      index.set(v, counter);
      low.set(v, counter++);
      stack.push(v);
      onStack.add(v);
      frames.push({ v, next: vertices[v]!.deps.values() });
    };
    enter(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const step = frame.next.next();
      if (!step.done) {
        const w = step.value;
        if (!within.has(w)) continue;
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(frame.v, Math.min(low.get(frame.v)!, index.get(w)!));
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(frame.v)!));
      if (low.get(frame.v) === index.get(frame.v)) {
        const component = new Set<number>();
        let w: number;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.add(w);
        } while (w !== frame.v);
        if (component.size > 1 || vertices[frame.v]!.deps.has(frame.v)) components.push(component);
      }
    }
  }
  return components;
}

/** The shortest loop from `start` back to itself through allowed vertices (breadth first), in dependency order. */
function shortestLoop(vertices: readonly Vertex[], start: number, allowed: (v: number) => boolean): number[] | undefined {
  const cameFrom = new Map<number, number>([[start, -1]]);
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head]!;
    for (const w of vertices[u]!.deps) {
      if (w === start) {
        const loop: number[] = [];
        for (let x = u; x !== -1; x = cameFrom.get(x)!) loop.unshift(x);
        return loop;
      }
      if (cameFrom.has(w) || !allowed(w)) continue;
      cameFrom.set(w, u);
      queue.push(w);
    }
  }
  return undefined;
}
