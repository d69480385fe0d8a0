import type { Manifest, TableObject } from "../manifest/manifest.js";
import { qname } from "../pg/sql.js";
import type { DdlItem } from "../schema/model.js";

/**
 * Which part of a backup to restore or export, with pg_restore's meanings: `tables` (`-t`, as
 * `schema.name`; a bare name means `public.name`), `schemas` (`-n`), `excludeTables`. Empty: all.
 */
export interface Selection {
  tables?: readonly string[];
  schemas?: readonly string[];
  excludeTables?: readonly string[];
}

/** pg_restore's schema-only and data-only options; `all` by default. */
export type Sections = "all" | "schema-only" | "data-only";

export interface SkippedObject {
  /** Item id, e.g. `fk constraint public.rental.rental_customer_id_fkey`. */
  object: string;
  /** What it needs that is neither restored nor in the target (or, for one the target refused, why). */
  missing: string[];
}

/** The part of a backup a selection restores (pure: computed from the backup and what the target holds). */
export interface SelectedObjects {
  /** No selection: the whole backup, as a full restore does it. */
  whole: boolean;
  /** Items to create, in the backup's (dependency) order. */
  items: DdlItem[];
  /** Items created only because a selected object needs them (its sequence, a type, a function). */
  dependencies: string[];
  /** Items that need a table neither restored nor present: not created, reported. */
  skipped: SkippedObject[];
  /** Items that may fail without failing the restore: foreign keys of tables already in the target that reference restored ones. */
  optional: string[];
  /** Selected objects the target already has (a restore refuses them unless it drops them first). */
  conflicts: string[];
  /** Tables whose rows are loaded. */
  tables: TableObject[];
  /** Sequences whose state is set: those created, and those of the loaded tables. */
  sequences: Manifest["sequences"];
  /** Materialized views to refresh: those created. */
  matviews: Manifest["matviews"];
}

export type SelectionError = { _tag: "SelectionInvalid"; unknown: string[]; message: string };

/** Objects a table (or view, sequence, ...) carries: they come and go with their owner. */
const ATTACHED = new Set([
  "column default", "sequence owned by", "partition attach", "not null constraint", "view definition", "domain constraint",
  "constraint", "fk constraint", "check constraint", "index", "index attach", "cluster on", "replica identity",
  "trigger", "trigger state", "rule", "policy", "row security", "statistics", "large object comment",
]);
const RELATIONS = ["table", "view", "materialized view", "foreign table"];
const OWNERS = [...RELATIONS, "sequence", "domain", "index", "constraint"];
const SELECTABLE = [...RELATIONS, "sequence"];

const kindOfId = (id: string, byId: ReadonlyMap<string, DdlItem>) => byId.get(id)?.kind ?? id.slice(0, id.lastIndexOf(" "));
const isRelationId = (id: string, byId: ReadonlyMap<string, DdlItem>) => RELATIONS.includes(kindOfId(id, byId));

/**
 * The objects a selection restores: the selected tables (or every object of the selected
 * schemas), what they need to exist that the target lacks (found through the items'
 * `dependsOn`: owned sequences, types, functions their defaults, checks and triggers call), the
 * objects attached to them (defaults, indexes, constraints, triggers, rules, policies, owners,
 * grants), and foreign keys into them from tables the target already has. An attached object that
 * needs a table neither restored nor present is skipped and reported (a foreign key to a table
 * left out). `present` holds the ids of the items the target already has (see `presentObjects`);
 * empty for a script meant for an empty database. With `data-only`, nothing is created: the
 * selected tables' rows and their sequences' states.
 */
export function selectObjects(manifest: Manifest, items: readonly DdlItem[], selection: Selection, sections: Sections, present: ReadonlySet<string>): SelectedObjects | SelectionError {
  const filtered = Boolean(selection.tables?.length || selection.schemas?.length || selection.excludeTables?.length);
  if (!filtered) {
    // The whole backup, exactly as a full restore has always applied it.
    const data = sections !== "schema-only";
    return {
      whole: true,
      items: sections === "data-only" ? [] : [...items],
      dependencies: [],
      skipped: [],
      optional: [],
      conflicts: [],
      tables: data ? manifest.tables : [],
      sequences: data ? manifest.sequences : [],
      matviews: data ? manifest.matviews : [],
    };
  }
  const byId = new Map(items.map((i) => [i.id, i]));
  const schemaNames = [...new Set([...items.filter((i) => i.kind === "schema").map((i) => i.name), ...manifest.tables.map((t) => t.schema), "public"])];
  // The schema an item's name starts with; the longest wins ("a.b" over "a" for "a.b.t").
  const schemaOf = (item: DdlItem): string | undefined =>
    item.kind === "schema" ? item.name : schemaNames.filter((s) => item.name.startsWith(`${s}.`)).sort((a, b) => b.length - a.length)[0];

  const unknown: string[] = [];
  const resolve = (name: string): DdlItem[] => {
    const wanted = name.includes(".") ? name : `public.${name}`;
    const found = items.filter((i) => SELECTABLE.includes(i.kind) && i.name === wanted);
    if (!found.length) unknown.push(`table ${name}`);
    return found;
  };
  const picked = (selection.tables ?? []).flatMap(resolve);
  for (const s of selection.schemas ?? []) if (!schemaNames.includes(s) || !items.some((i) => schemaOf(i) === s)) unknown.push(`schema ${s}`);
  const excluded = new Set((selection.excludeTables ?? []).flatMap(resolve).map((i) => i.id));
  if (unknown.length) {
    return { _tag: "SelectionInvalid", unknown, message: `the backup has no ${unknown.join(", ")} (names are schema.name, as the source spells them)` };
  }

  const core = (i: DdlItem) => !ATTACHED.has(i.kind) && i.section !== "privileges";
  const selected = new Set<string>();
  if (!picked.length && !selection.schemas?.length) items.filter(core).forEach((i) => selected.add(i.id));
  picked.forEach((i) => selected.add(i.id));
  const schemas = new Set(selection.schemas ?? []);
  items.filter((i) => core(i) && schemas.has(schemaOf(i) ?? "")).forEach((i) => selected.add(i.id));
  excluded.forEach((id) => selected.delete(id));
  // What needs an excluded table (a view on it) is left out with it, and reported.
  const leftOut = new Map<string, string[]>();
  for (let shrank = excluded.size > 0; shrank; ) {
    shrank = false;
    for (const id of selected) {
      const missing = (byId.get(id)!.dependsOn ?? []).filter((d) => excluded.has(d) || leftOut.has(d));
      if (!missing.length) continue;
      selected.delete(id);
      leftOut.set(id, missing);
      shrank = true;
    }
  }
  // A partitioned table's rows live in its partitions: they come with it.
  for (let grew = true; grew; ) {
    grew = false;
    for (const a of items.filter((i) => i.kind === "partition attach")) {
      const self = `table ${a.name}`;
      if (selected.has(self) || excluded.has(self) || !(a.dependsOn ?? []).some((d) => d !== self && selected.has(d))) continue;
      selected.add(self);
      grew = true;
    }
  }

  const loadedTables = (ids: ReadonlySet<string>) => manifest.tables.filter((t) => ids.has(`table ${t.schema}.${t.table}`));
  if (sections === "data-only") {
    const tables = loadedTables(selected);
    return { whole: false, items: [], dependencies: [], skipped: [], optional: [], conflicts: [], tables, sequences: sequencesOf(manifest, items, selected, tables), matviews: manifest.matviews.filter((m) => selected.has(`materialized view ${m.schema}.${m.name}`)) };
  }

  // Schemas the target has are used as they are; other selected objects it has conflict.
  const conflicts = [...selected].filter((id) => present.has(id) && kindOfId(id, byId) !== "schema");
  const created = new Set([...selected].filter((id) => !present.has(id)));
  const have = (id: string) => created.has(id) || present.has(id) || !byId.has(id);

  const relationNamed = relationByName(items);
  const ownerCache = new Map<string, string | undefined>();
  /** The object an attached item is defined on: its relation (or sequence, index, ...) dependency named like it. */
  const ownerOf = (item: DdlItem): string | undefined => {
    if (ownerCache.has(item.id)) return ownerCache.get(item.id);
    ownerCache.set(item.id, undefined); // a loop of attached items resolves to no owner
    const deps = item.dependsOn ?? [];
    const named = deps
      .filter((d) => OWNERS.includes(kindOfId(d, byId)))
      .map((d) => ({ d, name: byId.get(d)?.name ?? d.slice(d.indexOf(" ") + 1) }))
      .filter(({ name }) => item.name === name || item.name.startsWith(`${name}.`))
      .sort((a, b) => b.name.length - a.name.length)[0]?.d;
    const relations = deps.filter((d) => isRelationId(d, byId));
    const attachedDep = deps.map((d) => byId.get(d)).find((d): d is DdlItem => d !== undefined && ATTACHED.has(d.kind));
    const direct = named ?? (relations.length === 1 ? relations[0] : attachedDep ? ownerOf(attachedDep) : relationNamed(item.name));
    // Named after an index or constraint (an index attach): that one's owner.
    const via = direct !== undefined ? byId.get(direct) : undefined;
    const owner = via && ATTACHED.has(via.kind) && via.id !== item.id ? ownerOf(via) : direct;
    ownerCache.set(item.id, owner);
    return owner;
  };

  const dependencies: string[] = [];
  const included = new Set<string>();
  const skipped = new Map<string, string[]>(leftOut);
  const optional = new Set<string>();
  // Pulls in what an included item needs and the target lacks; relations other than an attached item's owner are never pulled in.
  const need = (item: DdlItem, attached: boolean) => {
    const owner = attached ? ownerOf(item) : undefined;
    for (const d of item.dependsOn ?? []) {
      const dep = byId.get(d);
      if (!dep || have(d) || !core(dep) || (attached && isRelationId(d, byId) && d !== owner)) continue;
      created.add(d);
      dependencies.push(d);
      need(dep, false);
    }
  };
  for (const id of [...created]) need(byId.get(id)!, false);
  for (let grew = true; grew; ) {
    grew = false;
    for (const item of items) {
      if (!ATTACHED.has(item.kind) || included.has(item.id) || skipped.has(item.id) || present.has(item.id)) continue;
      // Large objects belong to the database, not to a table: only a full restore brings them.
      if (item.kind === "large object comment") continue;
      const owner = ownerOf(item);
      const incoming = item.kind === "fk constraint" && owner !== undefined && present.has(owner) && (item.dependsOn ?? []).some((d) => created.has(d));
      if (!owner || (!created.has(owner) && !incoming)) continue;
      const missing = (item.dependsOn ?? []).filter((d) => isRelationId(d, byId) && !have(d));
      if (missing.length) {
        skipped.set(item.id, missing);
        continue;
      }
      need(item, true);
      included.add(item.id);
      if (incoming) optional.add(item.id);
      grew = true;
    }
  }
  // An attached item needing another that was skipped (or the target lacks) is skipped too.
  for (let shrank = true; shrank; ) {
    shrank = false;
    for (const id of included) {
      const missing = (byId.get(id)!.dependsOn ?? []).filter((d) => ATTACHED.has(kindOfId(d, byId)) && byId.has(d) && !included.has(d) && !present.has(d));
      if (missing.length) {
        included.delete(id);
        optional.delete(id);
        skipped.set(id, missing);
        shrank = true;
      }
    }
  }

  const names = new Set(items.filter((i) => created.has(i.id)).map((i) => i.name));
  const tableNames = items.filter((i) => created.has(i.id) && i.kind === "table").map((i) => `${i.name}.`);
  const privilege = (i: DdlItem) => i.kind !== "default acl" && (names.has(i.name) || (i.kind === "acl" && tableNames.some((t) => i.name.startsWith(t))));
  const chosen = items.filter((i) => (i.section === "privileges" ? privilege(i) : created.has(i.id) || included.has(i.id)));
  const tables = sections === "schema-only" ? [] : loadedTables(selected);
  return {
    whole: false,
    items: chosen,
    dependencies,
    skipped: [...skipped].map(([object, missing]) => ({ object, missing })),
    optional: [...optional],
    conflicts,
    tables,
    sequences: sections === "schema-only" ? [] : sequencesOf(manifest, items, created, tables),
    matviews: sections === "schema-only" ? [] : manifest.matviews.filter((m) => created.has(`materialized view ${m.schema}.${m.name}`)),
  };
}

/**
 * Sequences whose state a restore sets: those among `ids`, and those of the loaded tables (owned
 * by a column through `OWNED BY`, drawn from by a column default, or an identity column's, named
 * in its table's definition).
 */
function sequencesOf(manifest: Manifest, items: readonly DdlItem[], ids: ReadonlySet<string>, tables: readonly TableObject[]): Manifest["sequences"] {
  const loaded = new Set(tables.map((t) => `table ${t.schema}.${t.table}`));
  const owned = new Set(items.filter((i) => i.kind === "sequence owned by" && (i.dependsOn ?? []).some((d) => loaded.has(d))).map((i) => `sequence ${i.name}`));
  // The sequences the loaded tables' defaults draw from (nextval), owned or not.
  for (const d of items.filter((i) => i.kind === "column default" && (i.dependsOn ?? []).some((x) => loaded.has(x)))) {
    for (const x of d.dependsOn ?? []) if (x.startsWith("sequence ")) owned.add(x);
  }
  const definitions = items.filter((i) => loaded.has(i.id)).map((i) => i.sql);
  return manifest.sequences.filter((s) => {
    const id = `sequence ${s.schema}.${s.name}`;
    return ids.has(id) || owned.has(id) || definitions.some((sql) => sql.includes(`SEQUENCE NAME ${qname(s.schema, s.name)}`));
  });
}

/**
 * `tables` with the tables each references through a foreign key of the backup before it (a
 * reference closing a loop is ignored): the order a load into tables whose foreign keys exist needs.
 */
export function referenceOrder(tables: readonly TableObject[], items: readonly DdlItem[]): TableObject[] {
  const byId = new Map(tables.map((t) => [`table ${t.schema}.${t.table}`, t]));
  const refs = new Map<string, string[]>();
  for (const fk of items.filter((i) => i.kind === "fk constraint")) {
    const related = (fk.dependsOn ?? []).filter((d) => byId.has(d));
    const owner = related.filter((d) => fk.name.startsWith(`${d.slice("table ".length)}.`)).sort((a, b) => b.length - a.length)[0];
    if (owner) refs.set(owner, [...(refs.get(owner) ?? []), ...related.filter((d) => d !== owner)]);
  }
  const out: TableObject[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string) => {
    if (state.has(id)) return;
    state.set(id, "visiting");
    for (const r of refs.get(id) ?? []) visit(r);
    state.set(id, "done");
    out.push(byId.get(id)!);
  };
  for (const id of byId.keys()) visit(id);
  return out;
}

/**
 * The relation an item without recorded dependencies is on, from its name (`row security s.t`,
 * `not null constraint s.t.c`): the relation item whose name is the longest prefix of it.
 */
export function relationByName(items: readonly DdlItem[]): (name: string) => string | undefined {
  const byName = new Map(items.filter((i) => RELATIONS.includes(i.kind)).map((i) => [i.name, i.id]));
  return (name) => {
    for (let end = name.length; end > 0; end = name.lastIndexOf(".", end - 1)) {
      const id = byName.get(name.slice(0, end));
      if (id) return id;
    }
    return undefined;
  };
}
