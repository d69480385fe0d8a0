import type { Queryable } from "../pg/query-pool.js";
import { USER_NAMESPACE, commentSql, ident, key, notExtensionMember, qname, rows } from "./catalog.js";
import { groupBy } from "../util/group-by.js";
import { POST_DATA_PHASE, type DdlItem, type DdlNode, type MatviewRef, type SequenceRef, type TableData } from "./model.js";

interface RelRow {
  oid: number;
  nspname: string;
  relname: string;
  relkind: string;
  relpersistence: string;
  relispartition: boolean;
  relreplident: string;
  oftype: string | null;
  reloptions: string[] | null;
  reltype: number;
  partkey: string | null;
  partbound: string | null;
  ispopulated: boolean;
  size: string;
  comment: string | null;
  viewdef: string | null;
  rewrite_oid: number | null;
  /** A table's columns that COPY reads (not generated), in order; null for other relations. */
  data_columns: string[] | null;
}

interface ColRow {
  attrelid: number;
  attnum: number;
  attname: string;
  type: string;
  attnotnull: boolean;
  attidentity: string;
  attgenerated: string;
  attislocal: boolean;
  def: string | null;
  attrdef_oid: number | null;
  coll: string | null;
  attstorage: string;
  typstorage: string;
  stattarget: number | null;
  compression: string | null;
  attoptions: string[] | null;
  comment: string | null;
}

interface NotNullRow {
  conrelid: number;
  attnum: number;
  conname: string;
  convalidated: boolean;
  connoinherit: boolean;
  conislocal: boolean;
  coninhcount: number;
}

interface CheckRow {
  oid: number;
  conrelid: number;
  conname: string;
  def: string;
  convalidated: boolean;
  conislocal: boolean;
  comment: string | null;
}

interface SeqRow {
  oid: number;
  nspname: string;
  relname: string;
  relpersistence: string;
  type: string;
  seqstart: string;
  seqincrement: string;
  seqmax: string;
  seqmin: string;
  seqcache: string;
  seqcycle: boolean;
  owner_table: number | null;
  owner_col: string | null;
  identity: boolean;
  comment: string | null;
}

export interface RelationCapture {
  nodes: DdlNode[];
  tables: TableData[];
  sequences: SequenceRef[];
  matviews: MatviewRef[];
}

const pre = (item: Omit<DdlItem, "section" | "phase">): DdlItem => ({ ...item, section: "pre-data", phase: 0 });
const node = (item: Omit<DdlItem, "section" | "phase">): DdlNode => ({ item: pre(item) });
const checkId = (table: string, c: CheckRow) => `check constraint ${table}.${c.conname}`;

/** Tables (plain, partitioned, partitions, inheritance children), sequences, views, materialized views. */
export async function captureRelations(client: Queryable, versionNum: number, onTables?: (tables: TableData[]) => void): Promise<RelationCapture> {
  const rels = await rows<RelRow>(
    client,
    `SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.relispartition, c.relreplident,
            c.reloptions, c.reltype, CASE WHEN c.reloftype <> 0 THEN pg_catalog.format_type(c.reloftype, NULL) END AS oftype,
            CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partkey,
            CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS partbound,
            c.relispopulated AS ispopulated,
            CASE WHEN c.relkind IN ('r', 'm') THEN pg_catalog.pg_relation_size(c.oid)
                 + CASE WHEN c.reltoastrelid <> 0 THEN pg_catalog.pg_relation_size(c.reltoastrelid) ELSE 0 END ELSE 0 END AS size,
            pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
            CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS viewdef,
            (SELECT r.oid FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename = '_RETURN') AS rewrite_oid,
            CASE WHEN c.relkind = 'r' THEN ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum) END AS data_columns
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${USER_NAMESPACE} AND ${notExtensionMember("pg_class", "c.oid")}
      ORDER BY c.oid`,
  );
  // The tables, with the columns their data is read by, are known now: handed on before the rest
  // is read, so that they are locked and their data starts while the DDL is still being read.
  const tables: TableData[] = rels
    .filter((r) => r.relkind === "r")
    .map((r) => ({ oid: r.oid, schema: r.nspname, name: r.relname, columns: r.data_columns ?? [], sizeBytes: Number(r.size) }));
  onTables?.(tables);
  const oids = rels.map((r) => r.oid);
  const stat = versionNum >= 170000 ? "a.attstattarget" : "NULLIF(a.attstattarget, -1)";
  const compression = versionNum >= 140000 ? "NULLIF(a.attcompression::text, '')" : "NULL::text";
  // What follows reads about those relations, side by side on a pool.
  const colsRead = rows<ColRow>(
    client,
    `SELECT a.attrelid, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull, a.attidentity, a.attgenerated, a.attislocal,
            pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS def, d.oid AS attrdef_oid,
            CASE WHEN a.attcollation <> t.typcollation THEN
              (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
                 FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                WHERE co.oid = a.attcollation) END AS coll,
            a.attstorage, t.typstorage, ${stat} AS stattarget, ${compression} AS compression, a.attoptions,
            pg_catalog.col_description(a.attrelid, a.attnum) AS comment
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const rest = Promise.all([
    rows<CheckRow>(
      client,
      `SELECT oid, conrelid, conname, pg_catalog.pg_get_constraintdef(oid) AS def, convalidated, conislocal,
            pg_catalog.obj_description(oid, 'pg_constraint') AS comment
         FROM pg_catalog.pg_constraint WHERE contype = 'c' AND conrelid = ANY($1::oid[]) ORDER BY conrelid, conname`,
      [oids],
    ),
    rows<{ inhrelid: number; parent: string; parent_oid: number }>(
      client,
      `SELECT i.inhrelid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.relname) AS parent, p.oid AS parent_oid
         FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
         JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
        WHERE i.inhrelid = ANY($1::oid[]) ORDER BY i.inhrelid, i.inhseqno`,
      [oids],
    ),
    captureSequenceRows(client),
    // PostgreSQL 18 keeps NOT NULL as named constraints, which may be NOT VALID or NO INHERIT.
    versionNum >= 180000
      ? rows<NotNullRow>(
          client,
          `SELECT conrelid, conkey[1] AS attnum, conname, convalidated, connoinherit, conislocal, coninhcount
             FROM pg_catalog.pg_constraint WHERE contype = 'n' AND conrelid = ANY($1::oid[])`,
          [oids],
        )
      : Promise.resolve([]),
  ]);
  rest.catch(() => {}); // awaited below, with the columns
  const cols = await colsRead;
  const colsBy = groupBy(cols, (c) => c.attrelid);
  const [checks, parents, seqs, notNulls] = await rest;
  const notNullBy = new Map(notNulls.map((n) => [`${n.conrelid}:${n.attnum}`, n]));

  const checksBy = groupBy(checks, (c) => c.conrelid);
  const parentsBy = groupBy(parents, (p) => p.inhrelid);
  const relById = new Map(rels.map((r) => [r.oid, r]));
  const identityBy = new Map<string, SeqRow>();
  for (const s of seqs) if (s.identity && s.owner_table != null) identityBy.set(`${s.owner_table}:${s.owner_col}`, s);

  const out: RelationCapture = { nodes: [], tables, sequences: [], matviews: [] };
  for (const r of rels) {
    const name = qname(r.nspname, r.relname);
    const display = `${r.nspname}.${r.relname}`;
    const columns = colsBy.get(r.oid) ?? [];
    const keys = [key("pg_class", r.oid), key("pg_type", r.reltype)];
    const isTable = r.relkind === "r" || r.relkind === "p";
    // A view's defaults stay in its own item; a table's are separate items (below).
    if (!isTable) keys.push(...columns.filter((c) => c.attrdef_oid).map((c) => key("pg_attrdef", c.attrdef_oid!)));
    if (r.relkind === "v") {
      out.nodes.push(viewNode(r, name, display, columns, keys));
      continue;
    }
    if (r.relkind === "m") {
      if (r.rewrite_oid) keys.push(key("pg_rewrite", r.rewrite_oid));
      // No CREATE OR REPLACE for these: one that needs a post-data object moves after the data whole.
      out.nodes.push({ item: pre({ id: `materialized view ${display}`, kind: "materialized view", name: display, sql: viewSql(r, name, columns), catalogKeys: keys }), postponable: true });
      out.matviews.push({ schema: r.nspname, name: r.relname, populated: r.ispopulated });
      continue;
    }
    const tableChecks = checksBy.get(r.oid) ?? [];
    const inherits = parentsBy.get(r.oid) ?? [];
    // Partitions must carry the parent's CHECK constraints before ATTACH; others only local ones.
    const inline = tableChecks.filter((c) => c.convalidated && (r.relispartition || c.conislocal));
    // Inherited ones come with INHERITS: they are the table's own catalog rows.
    keys.push(...tableChecks.filter((c) => c.convalidated && !inline.includes(c)).map((c) => key("pg_constraint", c.oid)));
    const notNull = (c: ColRow) => notNullBy.get(`${r.oid}:${c.attnum}`);
    const parentCols = (r.relispartition ? [] : inherits).flatMap((p) => colsBy.get(p.parent_oid) ?? []);
    const render = (split: ReadonlySet<string>) =>
      tableSql(r, name, columns, inline.filter((c) => !split.has(checkId(display, c))), tableChecks, r.relispartition ? [] : inherits, identityBy, notNull, parentCols);
    out.nodes.push({
      item: pre({ id: `table ${display}`, kind: "table", name: display, sql: render(new Set()), catalogKeys: keys }),
      // A CHECK in a loop (it calls a function taking the table's row type) is added after the data.
      parts: inline.map((c) => ({
        id: checkId(display, c),
        kind: "check constraint",
        name: `${display}.${c.conname}`,
        section: "post-data",
        phase: POST_DATA_PHASE.foreignKeys,
        sql: `ALTER TABLE ${name} ADD CONSTRAINT ${ident(c.conname)} ${c.def};${commentSql(`CONSTRAINT ${ident(c.conname)} ON ${name}`, c.comment)}`,
        catalogKeys: [key("pg_constraint", c.oid)],
      })),
      renderWithout: render,
    });
    // Column defaults come after the table, as pg_dump does when it must: a default may call a
    // function whose body reads this very table, a cycle no single CREATE TABLE can satisfy.
    for (const c of columns) {
      if (c.def == null || c.attgenerated !== "" || !c.attrdef_oid) continue;
      out.nodes.push(
        node({
          id: `column default ${display}.${c.attname}`,
          kind: "column default",
          name: `${display}.${c.attname}`,
          sql: `ALTER TABLE ONLY ${name} ALTER COLUMN ${ident(c.attname)} SET DEFAULT ${c.def};`,
          catalogKeys: [key("pg_attrdef", c.attrdef_oid)],
          dependsOn: [`table ${display}`],
        }),
      );
    }
    for (const c of columns) {
      const nn = notNull(c);
      // A NOT VALID NOT NULL may have NULLs under it: added after the data, never validated, once,
      // on the table that declares it (children inherit it from there).
      if (!nn || nn.convalidated || !nn.conislocal) continue;
      out.nodes.push({
        item: {
          id: `not null constraint ${display}.${nn.conname}`,
          kind: "not null constraint",
          name: `${display}.${nn.conname}`,
          section: "post-data",
          phase: POST_DATA_PHASE.foreignKeys,
          sql: `ALTER TABLE ${nn.connoinherit ? "ONLY " : ""}${name} ADD CONSTRAINT ${ident(nn.conname)} NOT NULL ${ident(c.attname)}${nn.connoinherit ? " NO INHERIT" : ""} NOT VALID;`,
          catalogKeys: [],
        },
      });
    }
    if (r.relispartition) {
      const parent = inherits[0];
      const parentRel = parent ? relById.get(parent.parent_oid) : undefined;
      if (parent && parentRel) {
        out.nodes.push(
          node({
            id: `partition attach ${display}`,
            kind: "partition attach",
            name: display,
            sql: `ALTER TABLE ONLY ${parent.parent} ATTACH PARTITION ${name} ${r.partbound};`,
            catalogKeys: [],
            dependsOn: [`table ${display}`, `table ${parentRel.nspname}.${parentRel.relname}`],
          }),
        );
      }
    }
  }

  for (const s of seqs) {
    out.sequences.push({ schema: s.nspname, name: s.relname });
    if (s.identity) continue; // created by its identity column
    const name = qname(s.nspname, s.relname);
    const display = `${s.nspname}.${s.relname}`;
    out.nodes.push(
      node({
        id: `sequence ${display}`,
        kind: "sequence",
        name: display,
        sql: `CREATE ${s.relpersistence === "u" ? "UNLOGGED " : ""}SEQUENCE ${name}\n    ${sequenceOptions(s)};${commentSql(`SEQUENCE ${name}`, s.comment)}`,
        catalogKeys: [key("pg_class", s.oid)],
      }),
    );
    if (s.owner_table != null && s.owner_col != null) {
      const t = relById.get(s.owner_table);
      if (t) {
        out.nodes.push(
          node({
            id: `sequence owned by ${display}`,
            kind: "sequence owned by",
            name: display,
            sql: `ALTER SEQUENCE ${name} OWNED BY ${qname(t.nspname, t.relname)}.${ident(s.owner_col)};`,
            catalogKeys: [],
            dependsOn: [`sequence ${display}`, `table ${t.nspname}.${t.relname}`],
          }),
        );
      }
    }
  }
  return out;
}

async function captureSequenceRows(client: Queryable): Promise<SeqRow[]> {
  return rows<SeqRow>(
    client,
    `SELECT c.oid, n.nspname, c.relname, c.relpersistence, pg_catalog.format_type(s.seqtypid, NULL) AS type,
            s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
            d.refobjid AS owner_table, a.attname AS owner_col, COALESCE(d.deptype = 'i', false) AS identity,
            pg_catalog.obj_description(c.oid, 'pg_class') AS comment
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
       LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE c.relkind = 'S' AND ${USER_NAMESPACE} AND ${notExtensionMember("pg_class", "c.oid")}
      ORDER BY c.oid`,
  );
}

function sequenceOptions(s: SeqRow, withName?: string): string {
  const parts = [];
  // An identity sequence takes its type from the column; `AS` there is a conflicting option.
  if (withName) parts.push(`SEQUENCE NAME ${withName}`);
  else parts.push(`AS ${s.type}`);
  parts.push(`START WITH ${s.seqstart}`, `INCREMENT BY ${s.seqincrement}`, `MINVALUE ${s.seqmin}`, `MAXVALUE ${s.seqmax}`, `CACHE ${s.seqcache}`);
  if (s.seqcycle) parts.push("CYCLE");
  return parts.join("\n    ");
}

function tableSql(
  r: RelRow,
  name: string,
  columns: ColRow[],
  inline: CheckRow[],
  checks: CheckRow[],
  inherits: { parent: string }[],
  identityBy: Map<string, SeqRow>,
  notNull: (c: ColRow) => NotNullRow | undefined,
  parentCols: ColRow[],
): string {
  // Inheritance children declare only their local columns; partitions declare all of theirs
  // and are attached afterwards, as pg_dump does, so column order is the partition's own.
  const declared = inherits.length > 0 ? columns.filter((c) => c.attislocal) : columns;
  const lines = declared.map((c) => {
    let line = `    ${ident(c.attname)} ${c.type}`;
    if (c.coll) line += ` COLLATE ${c.coll}`;
    if (c.attgenerated === "s") line += ` GENERATED ALWAYS AS (${c.def}) STORED`;
    const nn = notNull(c);
    if (nn) {
      if (nn.convalidated) line += ` CONSTRAINT ${ident(nn.conname)} NOT NULL${nn.connoinherit ? " NO INHERIT" : ""}`;
    } else if (c.attnotnull) line += " NOT NULL";
    return line;
  });
  for (const c of inline) lines.push(`    CONSTRAINT ${ident(c.conname)} ${c.def}`);
  let sql = `CREATE ${r.relpersistence === "u" ? "UNLOGGED " : ""}TABLE ${name} (\n${lines.join(",\n")}\n)`;
  if (inherits.length > 0) sql += `\nINHERITS (${inherits.map((p) => p.parent).join(", ")})`;
  if (r.partkey) sql += `\nPARTITION BY ${r.partkey}`;
  if (r.reloptions?.length) sql += `\nWITH (${r.reloptions.join(", ")})`;
  sql += ";";

  for (const c of columns) {
    const col = `${name} ALTER COLUMN ${ident(c.attname)}`;
    // NOT NULL set on a child's inherited column where its parents do not have it.
    if (inherits.length > 0 && !c.attislocal && c.attnotnull) {
      const nn = notNull(c);
      if (nn ? nn.conislocal && nn.convalidated : !parentCols.some((p) => p.attname === c.attname && p.attnotnull)) {
        sql += nn && nn.coninhcount === 0
          ? `\nALTER TABLE ONLY ${name} ADD CONSTRAINT ${ident(nn.conname)} NOT NULL ${ident(c.attname)};`
          : `\nALTER TABLE ONLY ${col} SET NOT NULL;`;
      }
    }
    if (c.attidentity === "a" || c.attidentity === "d") {
      const seq = identityBy.get(`${r.oid}:${c.attname}`);
      const opts = seq ? ` (\n    ${sequenceOptions(seq, qname(seq.nspname, seq.relname))}\n)` : "";
      sql += `\nALTER TABLE ${name} ALTER COLUMN ${ident(c.attname)} ADD GENERATED ${c.attidentity === "a" ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY${opts};`;
      if (seq?.comment != null) sql += commentSql(`SEQUENCE ${qname(seq.nspname, seq.relname)}`, seq.comment);
    }
    if (c.stattarget != null) sql += `\nALTER TABLE ONLY ${col} SET STATISTICS ${c.stattarget};`;
    if (c.attstorage !== c.typstorage) sql += `\nALTER TABLE ONLY ${col} SET STORAGE ${storageName(c.attstorage)};`;
    if (c.compression) sql += `\nALTER TABLE ONLY ${col} SET COMPRESSION ${c.compression === "p" ? "pglz" : "lz4"};`;
    if (c.attoptions?.length) sql += `\nALTER TABLE ONLY ${col} SET (${c.attoptions.join(", ")});`;
  }
  // A typed table: its columns are the type's, declared above in the same order.
  if (r.oftype) sql += `\nALTER TABLE ONLY ${name} OF ${r.oftype};`;
  if (r.relreplident === "f") sql += `\nALTER TABLE ONLY ${name} REPLICA IDENTITY FULL;`;
  else if (r.relreplident === "n") sql += `\nALTER TABLE ONLY ${name} REPLICA IDENTITY NOTHING;`;
  sql += commentSql(`TABLE ${name}`, r.comment);
  for (const c of columns) sql += commentSql(`COLUMN ${name}.${ident(c.attname)}`, c.comment);
  // NOT VALID ones, and ones split off, carry their comments in their own items.
  for (const c of checks) {
    if (c.convalidated && (inline.includes(c) || !(r.relispartition || c.conislocal))) sql += commentSql(`CONSTRAINT ${ident(c.conname)} ON ${name}`, c.comment);
  }
  return sql;
}

/** `[WITH (options)] AS <query> [WITH CHECK OPTION]`: what CREATE (OR REPLACE) VIEW takes. */
function viewQuery(r: RelRow): string {
  const options = (r.reloptions ?? []).filter((o) => !o.startsWith("check_option="));
  const checkOption = (r.reloptions ?? []).find((o) => o.startsWith("check_option="))?.split("=")[1];
  const def = (r.viewdef ?? "").trim().replace(/;$/, "");
  const withOpts = options.length ? ` WITH (${options.join(", ")})` : "";
  if (r.relkind === "m") return `${withOpts} AS\n${def}\n  WITH NO DATA`;
  return `${withOpts} AS\n${def}${checkOption ? `\n  WITH ${checkOption.toUpperCase()} CHECK OPTION` : ""}`;
}

/** Column defaults and comments, which a placeholder view carries as well as the real one. */
function viewAttachments(r: RelRow, name: string, columns: ColRow[]): string {
  let sql = "";
  if (r.relkind === "v") for (const c of columns) if (c.def != null) sql += `\nALTER VIEW ${name} ALTER COLUMN ${ident(c.attname)} SET DEFAULT ${c.def};`;
  sql += commentSql(`${r.relkind === "m" ? "MATERIALIZED VIEW" : "VIEW"} ${name}`, r.comment);
  for (const c of columns) sql += commentSql(`COLUMN ${name}.${ident(c.attname)}`, c.comment);
  return sql;
}

function viewSql(r: RelRow, name: string, columns: ColRow[]): string {
  return `CREATE ${r.relkind === "m" ? "MATERIALIZED VIEW" : "VIEW"} ${name}${viewQuery(r)};${viewAttachments(r, name, columns)}`;
}

/**
 * A view, with its query as a part: when the query needs something created after the data (a
 * primary key it groups by), or closes a loop (a function returning the view's rows), the view
 * is created as a placeholder of the same columns and the query replaces it after the data.
 */
function viewNode(r: RelRow, name: string, display: string, columns: ColRow[], keys: string[]): DdlNode {
  const placeholder = columns.map((c) => `NULL::${c.type}${c.coll ? ` COLLATE ${c.coll}` : ""} AS ${ident(c.attname)}`).join(",\n    ");
  return {
    item: pre({ id: `view ${display}`, kind: "view", name: display, sql: viewSql(r, name, columns), catalogKeys: keys }),
    parts: [
      {
        id: `view definition ${display}`,
        kind: "view definition",
        name: display,
        section: "post-data",
        phase: POST_DATA_PHASE.attach,
        sql: `CREATE OR REPLACE VIEW ${name}${viewQuery(r)};`,
        catalogKeys: r.rewrite_oid ? [key("pg_rewrite", r.rewrite_oid)] : [],
      },
    ],
    renderWithout: (split) =>
      split.size ? `CREATE VIEW ${name} AS\n SELECT ${placeholder};${viewAttachments(r, name, columns)}` : viewSql(r, name, columns),
  };
}

const storageName = (s: string) => ({ p: "PLAIN", e: "EXTERNAL", m: "MAIN", x: "EXTENDED" })[s] ?? "EXTENDED";

