import type { Queryable } from "../pg/query-pool.js";
import { USER_NAMESPACE, commentSql, ident, key, notExtensionMember, qname, rows } from "./catalog.js";
import { POST_DATA_PHASE, type DdlItem, type DdlNode } from "./model.js";

const post = (phase: number, item: Omit<DdlItem, "section" | "phase">): DdlItem => ({ ...item, section: "post-data", phase });
/** An item that must follow the objects with these catalog keys (which pg_depend does not link). */
const after = (item: DdlItem, keys: string[]): DdlNode => ({ item, dependsOnKeys: keys });

const USER_TABLE = `${USER_NAMESPACE} AND ${notExtensionMember("pg_class", "t.oid")}`;

/**
 * Everything that would change or reject data if it existed during the load: indexes,
 * constraints, triggers, rules, row-level security, extended statistics.
 */
export async function capturePostData(client: Queryable, versionNum: number): Promise<DdlNode[]> {
  const wrap = (items: DdlItem[]) => items.map((item): DdlNode => ({ item }));
  const parts = await Promise.all([
    indexesAndConstraints(client),
    triggers(client).then(wrap),
    triggerClones(client),
    rules(client).then(wrap),
    policies(client).then(wrap),
    statistics(client, versionNum).then(wrap),
    largeObjectComments(client).then(wrap),
  ]);
  return parts.flat();
}

/** Large objects travel with the data; their comments are restored after them. */
async function largeObjectComments(client: Queryable): Promise<DdlItem[]> {
  const list = await rows<{ oid: string; comment: string }>(
    client,
    `SELECT l.oid::text AS oid, pg_catalog.obj_description(l.oid, 'pg_largeobject') AS comment
       FROM pg_catalog.pg_largeobject_metadata l
      WHERE pg_catalog.obj_description(l.oid, 'pg_largeobject') IS NOT NULL ORDER BY l.oid`,
  );
  return list.map((l) =>
    post(POST_DATA_PHASE.behaviour, { id: `large object comment ${l.oid}`, kind: "large object comment", name: l.oid, sql: commentSql(`LARGE OBJECT ${l.oid}`, l.comment).trim(), catalogKeys: [] }),
  );
}

async function indexesAndConstraints(client: Queryable): Promise<DdlNode[]> {
  const indexes = await rows<{
    oid: number;
    nspname: string;
    relname: string;
    table: string;
    tdisplay: string;
    def: string;
    indisclustered: boolean;
    indisreplident: boolean;
    conoid: number | null;
    parent: string | null;
    parent_oid: number | null;
    stats: { attnum: number; target: number }[] | null;
    comment: string | null;
  }>(
    client,
    `SELECT i.indexrelid AS oid, n.nspname, ic.relname,
            pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname) AS table,
            n.nspname || '.' || t.relname AS tdisplay,
            pg_catalog.pg_get_indexdef(i.indexrelid) AS def, i.indisclustered, i.indisreplident,
            (SELECT c.oid FROM pg_catalog.pg_constraint c
              WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')) AS conoid,
            (SELECT pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.relname)
               FROM pg_catalog.pg_inherits h JOIN pg_catalog.pg_class p ON p.oid = h.inhparent
               JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace WHERE h.inhrelid = i.indexrelid) AS parent,
            (SELECT h.inhparent FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid) AS parent_oid,
            (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('attnum', a.attnum, 'target', a.attstattarget) ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0) AS stats,
            pg_catalog.obj_description(i.indexrelid, 'pg_class') AS comment
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
      WHERE t.relkind IN ('r', 'p', 'm') AND ${USER_TABLE}
      ORDER BY i.indexrelid`,
  );
  const constraints = await rows<{
    oid: number;
    conname: string;
    contype: string;
    relkind: string;
    table: string;
    tdisplay: string;
    def: string;
    conparentid: number;
    convalidated: boolean;
    conislocal: boolean;
    conindid: number;
    comment: string | null;
  }>(
    client,
    `SELECT c.oid, c.conname, c.contype, t.relkind,
            pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname) AS table,
            n.nspname || '.' || t.relname AS tdisplay,
            pg_catalog.pg_get_constraintdef(c.oid) AS def, c.conparentid, c.convalidated, c.conislocal, c.conindid,
            pg_catalog.obj_description(c.oid, 'pg_constraint') AS comment
       FROM pg_catalog.pg_constraint c
       JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
      WHERE c.contype IN ('p', 'u', 'x', 'f', 'c') AND ${USER_TABLE}
      ORDER BY c.oid`,
  );

  const items: DdlNode[] = [];
  const byOid = new Map(indexes.map((ix) => [ix.oid, ix]));
  const indexName = (ix: (typeof indexes)[number]) => qname(ix.nspname, ix.relname);
  // Statistics targets of expression columns: ALTER INDEX takes the column's position.
  const indexStats = (ix: (typeof indexes)[number]) =>
    (ix.stats ?? []).map((s) => `\nALTER INDEX ${indexName(ix)} ALTER COLUMN ${s.attnum} SET STATISTICS ${s.target};`).join("");
  const push = (item: DdlItem) => items.push({ item });
  for (const c of constraints) {
    const display = `${c.tdisplay}.${c.conname}`;
    const on = `CONSTRAINT ${ident(c.conname)} ON ${c.table}`;
    if (c.contype === "c") {
      // Validated CHECKs are part of CREATE TABLE. NOT VALID ones stay NOT VALID, are added after
      // the data that may violate them, once: on the table that declares them, without ONLY, so
      // inheritance children and partitions get theirs from it.
      if (c.convalidated || !c.conislocal) continue;
      push(post(POST_DATA_PHASE.foreignKeys, { id: `check constraint ${display}`, kind: "check constraint", name: display, sql: `ALTER TABLE ${c.table} ADD CONSTRAINT ${ident(c.conname)} ${c.def};${commentSql(on, c.comment)}`, catalogKeys: [key("pg_constraint", c.oid)] }));
      continue;
    }
    if (c.contype === "f") {
      // A foreign key inherited from a partitioned parent is recreated by the parent's.
      if (c.conparentid !== 0) continue;
      const only = c.relkind === "p" ? "" : "ONLY ";
      push(post(POST_DATA_PHASE.foreignKeys, { id: `fk constraint ${display}`, kind: "fk constraint", name: display, sql: `ALTER TABLE ${only}${c.table}\n    ADD CONSTRAINT ${ident(c.conname)} ${c.def};${commentSql(on, c.comment)}`, catalogKeys: [key("pg_constraint", c.oid)] }));
      continue;
    }
    const ix = byOid.get(c.conindid);
    let sql = `ALTER TABLE ONLY ${c.table}\n    ADD CONSTRAINT ${ident(c.conname)} ${c.def};${commentSql(on, c.comment)}`;
    if (ix) sql += indexStats(ix) + commentSql(`INDEX ${indexName(ix)}`, ix.comment);
    push(post(POST_DATA_PHASE.indexes, { id: `constraint ${display}`, kind: "constraint", name: display, sql, catalogKeys: [key("pg_constraint", c.oid), key("pg_class", c.conindid)] }));
  }
  for (const ix of indexes) {
    const name = indexName(ix);
    const display = `${ix.nspname}.${ix.relname}`;
    const self = [key("pg_class", ix.oid)];
    if (!ix.conoid) {
      push(post(POST_DATA_PHASE.indexes, { id: `index ${display}`, kind: "index", name: display, sql: `${ix.def};${indexStats(ix)}${commentSql(`INDEX ${name}`, ix.comment)}`, catalogKeys: self }));
    }
    if (ix.parent && ix.parent_oid) {
      items.push(after(post(POST_DATA_PHASE.attach, { id: `index attach ${display}`, kind: "index attach", name: display, sql: `ALTER INDEX ${ix.parent} ATTACH PARTITION ${name};`, catalogKeys: [] }), [...self, key("pg_class", ix.parent_oid)]));
    }
    if (ix.indisclustered) {
      items.push(after(post(POST_DATA_PHASE.attach, { id: `cluster ${display}`, kind: "cluster on", name: display, sql: `ALTER TABLE ${ix.table} CLUSTER ON ${ident(ix.relname)};`, catalogKeys: [] }), self));
    }
    if (ix.indisreplident) {
      items.push(after(post(POST_DATA_PHASE.attach, { id: `replica identity ${display}`, kind: "replica identity", name: display, sql: `ALTER TABLE ONLY ${ix.table} REPLICA IDENTITY USING INDEX ${ident(ix.relname)};`, catalogKeys: [] }), self));
    }
  }
  return items;
}

const FIRING: Record<string, string> = { O: "ENABLE", D: "DISABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" };

/** Triggers and rules fire by default ('O'); any other firing state is restored explicitly. */
function enableStateSql(table: string, what: "TRIGGER" | "RULE", name: string, state: string): string {
  return state !== "O" && FIRING[state] ? `\nALTER TABLE ${table} ${FIRING[state]} ${what} ${ident(name)};` : "";
}

async function triggers(client: Queryable): Promise<DdlItem[]> {
  const list = await rows<{ oid: number; tgname: string; table: string; tdisplay: string; def: string; tgenabled: string; comment: string | null }>(
    client,
    `SELECT g.oid, g.tgname, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname) AS table,
            n.nspname || '.' || t.relname AS tdisplay,
            pg_catalog.pg_get_triggerdef(g.oid) AS def, g.tgenabled,
            pg_catalog.obj_description(g.oid, 'pg_trigger') AS comment
       FROM pg_catalog.pg_trigger g
       JOIN pg_catalog.pg_class t ON t.oid = g.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
      WHERE NOT g.tgisinternal AND g.tgparentid = 0 AND ${USER_TABLE}
      ORDER BY g.oid`,
  );
  return list.map((g) => {
    let sql = `${g.def};`;
    sql += enableStateSql(g.table, "TRIGGER", g.tgname, g.tgenabled);
    sql += commentSql(`TRIGGER ${ident(g.tgname)} ON ${g.table}`, g.comment);
    const display = `${g.tdisplay}.${g.tgname}`;
    return post(POST_DATA_PHASE.behaviour, { id: `trigger ${display}`, kind: "trigger", name: display, sql, catalogKeys: [key("pg_trigger", g.oid)] });
  });
}

/**
 * A trigger on a partitioned table is cloned onto every partition; a clone whose firing state
 * was changed on its partition (disabled on one, say) keeps that state.
 */
async function triggerClones(client: Queryable): Promise<DdlNode[]> {
  const list = await rows<{ tgname: string; table: string; tdisplay: string; tgenabled: string; parent_oid: number }>(
    client,
    `SELECT g.tgname, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname) AS table,
            n.nspname || '.' || t.relname AS tdisplay, g.tgenabled, p.oid AS parent_oid
       FROM pg_catalog.pg_trigger g
       JOIN pg_catalog.pg_trigger p ON p.oid = g.tgparentid
       JOIN pg_catalog.pg_class t ON t.oid = g.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
      WHERE g.tgenabled <> p.tgenabled AND ${USER_TABLE}
      ORDER BY g.oid`,
  );
  return list.map((g) => {
    const display = `${g.tdisplay}.${g.tgname}`;
    const sql = `ALTER TABLE ONLY ${g.table} ${FIRING[g.tgenabled] ?? "ENABLE"} TRIGGER ${ident(g.tgname)};`;
    return after(post(POST_DATA_PHASE.behaviour, { id: `trigger state ${display}`, kind: "trigger state", name: display, sql, catalogKeys: [] }), [key("pg_trigger", g.parent_oid)]);
  });
}

async function rules(client: Queryable): Promise<DdlItem[]> {
  const list = await rows<{ oid: number; rulename: string; table: string; tdisplay: string; def: string; ev_enabled: string; comment: string | null }>(
    client,
    `SELECT r.oid, r.rulename, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname) AS table,
            n.nspname || '.' || t.relname AS tdisplay,
            pg_catalog.pg_get_ruledef(r.oid) AS def, r.ev_enabled,
            pg_catalog.obj_description(r.oid, 'pg_rewrite') AS comment
       FROM pg_catalog.pg_rewrite r
       JOIN pg_catalog.pg_class t ON t.oid = r.ev_class
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
      WHERE r.rulename <> '_RETURN' AND ${USER_TABLE}
      ORDER BY r.oid`,
  );
  return list.map((r) => {
    let sql = r.def.trim().endsWith(";") ? r.def.trim() : `${r.def.trim()};`;
    sql += enableStateSql(r.table, "RULE", r.rulename, r.ev_enabled);
    sql += commentSql(`RULE ${ident(r.rulename)} ON ${r.table}`, r.comment);
    const display = `${r.tdisplay}.${r.rulename}`;
    return post(POST_DATA_PHASE.behaviour, { id: `rule ${display}`, kind: "rule", name: display, sql, catalogKeys: [key("pg_rewrite", r.oid)] });
  });
}

async function policies(client: Queryable): Promise<DdlItem[]> {
  const tables = await rows<{ table: string; tdisplay: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
    client,
    `SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname) AS table,
            n.nspname || '.' || t.relname AS tdisplay, t.relrowsecurity, t.relforcerowsecurity
       FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
      WHERE (t.relrowsecurity OR t.relforcerowsecurity) AND ${USER_TABLE} ORDER BY t.oid`,
  );
  const items: DdlItem[] = tables.map((t) => {
    const sql = [
      t.relrowsecurity ? `ALTER TABLE ${t.table} ENABLE ROW LEVEL SECURITY;` : "",
      t.relforcerowsecurity ? `ALTER TABLE ${t.table} FORCE ROW LEVEL SECURITY;` : "",
    ].filter(Boolean).join("\n");
    return post(POST_DATA_PHASE.behaviour, { id: `row security ${t.tdisplay}`, kind: "row security", name: t.tdisplay, sql, catalogKeys: [] });
  });
  const list = await rows<{ oid: number; polname: string; table: string; tdisplay: string; cmd: string; permissive: boolean; roles: string; qual: string | null; withcheck: string | null; comment: string | null }>(
    client,
    `SELECT p.oid, p.polname, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.relname) AS table,
            n.nspname || '.' || t.relname AS tdisplay, p.polcmd AS cmd, p.polpermissive AS permissive,
            CASE WHEN p.polroles = '{0}' THEN 'PUBLIC'
                 ELSE (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.rolname), ', ' ORDER BY a.rolname)
                         FROM pg_catalog.pg_roles a WHERE a.oid = ANY(p.polroles)) END AS roles,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck,
            pg_catalog.obj_description(p.oid, 'pg_policy') AS comment
       FROM pg_catalog.pg_policy p
       JOIN pg_catalog.pg_class t ON t.oid = p.polrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
      WHERE ${USER_TABLE} ORDER BY p.oid`,
  );
  for (const p of list) {
    const cmd = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" }[p.cmd] ?? "ALL";
    let sql = `CREATE POLICY ${ident(p.polname)} ON ${p.table}${p.permissive ? "" : " AS RESTRICTIVE"} FOR ${cmd} TO ${p.roles}`;
    if (p.qual != null) sql += ` USING (${p.qual})`;
    if (p.withcheck != null) sql += ` WITH CHECK (${p.withcheck})`;
    sql += `;${commentSql(`POLICY ${ident(p.polname)} ON ${p.table}`, p.comment)}`;
    const display = `${p.tdisplay}.${p.polname}`;
    items.push(post(POST_DATA_PHASE.behaviour, { id: `policy ${display}`, kind: "policy", name: display, sql, catalogKeys: [key("pg_policy", p.oid)] }));
  }
  return items;
}

async function statistics(client: Queryable, versionNum: number): Promise<DdlItem[]> {
  const target = versionNum >= 170000 ? "s.stxstattarget" : "NULLIF(s.stxstattarget, -1)";
  const list = await rows<{ oid: number; nspname: string; stxname: string; def: string; target: number | null; comment: string | null }>(
    client,
    `SELECT s.oid, n.nspname, s.stxname, pg_catalog.pg_get_statisticsobjdef(s.oid) AS def, ${target} AS target,
            pg_catalog.obj_description(s.oid, 'pg_statistic_ext') AS comment
       FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_statistic_ext", "s.oid")} ORDER BY s.oid`,
  );
  return list.map((s) => {
    const name = qname(s.nspname, s.stxname);
    let sql = `${s.def};`;
    if (s.target != null) sql += `\nALTER STATISTICS ${name} SET STATISTICS ${s.target};`;
    sql += commentSql(`STATISTICS ${name}`, s.comment);
    const display = `${s.nspname}.${s.stxname}`;
    return post(POST_DATA_PHASE.behaviour, { id: `statistics ${display}`, kind: "statistics", name: display, sql, catalogKeys: [key("pg_statistic_ext", s.oid)] });
  });
}
