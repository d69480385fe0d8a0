import type { Queryable } from "../pg/query-pool.js";
import { USER_NAMESPACE, commentSql, ident, key, literal, notExtensionMember, notInternal, rows } from "./catalog.js";
import type { DdlNode } from "./model.js";

interface RoutineRow {
  oid: number;
  nspname: string;
  proname: string;
  prokind: string;
  identity_args: string;
  def: string | null;
  sqlbody: boolean;
  comment: string | null;
}

/** Functions and procedures through `pg_get_functiondef`, aggregates from `pg_aggregate`. */
export async function captureRoutines(client: Queryable, versionNum: number): Promise<DdlNode[]> {
  const list = await rows<RoutineRow>(
    client,
    `SELECT p.oid, n.nspname, p.proname, p.prokind,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_args,
            CASE WHEN p.prokind <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS def,
            ${versionNum >= 140000 ? "p.prosqlbody IS NOT NULL" : "false"} AS sqlbody,
            pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_proc", "p.oid")} AND ${notInternal("pg_proc", "p.oid")}
      ORDER BY p.oid`,
  );
  // An aggregate's own query runs side by side with the others' on a pool; the order stays the list's.
  return Promise.all(list.map(async (r): Promise<DdlNode> => {
    const kind = r.prokind === "p" ? "procedure" : r.prokind === "a" ? "aggregate" : "function";
    const signature = `${ident(r.nspname)}.${ident(r.proname)}(${r.identity_args})`;
    const body = r.prokind === "a" ? await aggregateSql(client, r.oid, signature) : `${r.def!.trimEnd()};`;
    return {
      item: {
        id: `${kind} ${r.nspname}.${r.proname}(${r.identity_args})`,
        kind,
        name: `${r.nspname}.${r.proname}(${r.identity_args})`,
        section: "pre-data",
        phase: 0,
        sql: body + commentSql(`${kind.toUpperCase()} ${signature}`, r.comment),
        catalogKeys: [key("pg_proc", r.oid)],
      },
      // A SQL-standard body is parsed at creation: one that needs a post-data object (a primary
      // key it groups by) is created after the data.
      postponable: r.sqlbody,
    };
  }));
}

async function aggregateSql(client: Queryable, oid: number, signature: string): Promise<string> {
  const [a] = await rows<Record<string, string | number | boolean | null>>(
    client,
    `SELECT pg_catalog.pg_get_function_arguments(a.aggfnoid) AS args, a.aggkind,
            a.aggtransfn::regproc::text AS sfunc, pg_catalog.format_type(a.aggtranstype, NULL) AS stype,
            a.aggtransspace AS sspace, NULLIF(a.aggfinalfn, 0)::regproc::text AS finalfunc,
            a.aggfinalextra AS finalextra, a.aggfinalmodify AS finalmodify,
            NULLIF(a.aggcombinefn, 0)::regproc::text AS combinefunc,
            NULLIF(a.aggserialfn, 0)::regproc::text AS serialfunc,
            NULLIF(a.aggdeserialfn, 0)::regproc::text AS deserialfunc,
            a.agginitval AS initcond,
            NULLIF(a.aggmtransfn, 0)::regproc::text AS msfunc,
            NULLIF(a.aggminvtransfn, 0)::regproc::text AS minvfunc,
            CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END AS mstype,
            a.aggmtransspace AS msspace, NULLIF(a.aggmfinalfn, 0)::regproc::text AS mfinalfunc,
            a.aggmfinalextra AS mfinalextra, a.aggmfinalmodify AS mfinalmodify, a.aggminitval AS minitcond,
            (SELECT 'OPERATOR(' || pg_catalog.quote_ident(opn.nspname) || '.' || o.oprname || ')'
               FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace opn ON opn.oid = o.oprnamespace
              WHERE o.oid = a.aggsortop) AS sortop,
            p.proparallel AS parallel, a.aggnumdirectargs AS ndirect
       FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
      WHERE a.aggfnoid = $1`,
    [oid],
  );
  if (!a) throw new Error(`aggregate ${signature} vanished during capture`);
  const opts: string[] = [`SFUNC = ${a.sfunc}`, `STYPE = ${a.stype}`];
  if (Number(a.sspace) > 0) opts.push(`SSPACE = ${a.sspace}`);
  if (a.finalfunc) opts.push(`FINALFUNC = ${a.finalfunc}`);
  if (a.finalextra) opts.push("FINALFUNC_EXTRA");
  const modify = (m: unknown, isOrdered: boolean) =>
    m === "r" ? "READ_ONLY" : m === "s" ? "SHAREABLE" : m === "w" ? "READ_WRITE" : isOrdered ? "READ_WRITE" : "READ_ONLY";
  const ordered = a.aggkind !== "n";
  // Defaults differ by aggregate kind; print the modifier only when it is not the default.
  const defaultModify = ordered ? "w" : "r";
  if (a.finalfunc && a.finalmodify !== defaultModify) opts.push(`FINALFUNC_MODIFY = ${modify(a.finalmodify, ordered)}`);
  if (a.combinefunc) opts.push(`COMBINEFUNC = ${a.combinefunc}`);
  if (a.serialfunc) opts.push(`SERIALFUNC = ${a.serialfunc}`);
  if (a.deserialfunc) opts.push(`DESERIALFUNC = ${a.deserialfunc}`);
  if (a.initcond != null) opts.push(`INITCOND = ${literal(String(a.initcond))}`);
  if (a.msfunc) {
    opts.push(`MSFUNC = ${a.msfunc}`, `MINVFUNC = ${a.minvfunc}`, `MSTYPE = ${a.mstype}`);
    if (Number(a.msspace) > 0) opts.push(`MSSPACE = ${a.msspace}`);
    if (a.mfinalfunc) opts.push(`MFINALFUNC = ${a.mfinalfunc}`);
    if (a.mfinalextra) opts.push("MFINALFUNC_EXTRA");
    if (a.mfinalfunc && a.mfinalmodify !== defaultModify) opts.push(`MFINALFUNC_MODIFY = ${modify(a.mfinalmodify, ordered)}`);
    if (a.minitcond != null) opts.push(`MINITCOND = ${literal(String(a.minitcond))}`);
  }
  if (a.sortop) opts.push(`SORTOP = ${a.sortop}`);
  if (a.parallel === "s") opts.push("PARALLEL = safe");
  else if (a.parallel === "r") opts.push("PARALLEL = restricted");
  if (a.aggkind === "h") opts.push("HYPOTHETICAL");
  const name = signature.slice(0, signature.indexOf("("));
  return `CREATE AGGREGATE ${name}(${a.args}) (\n    ${opts.join(",\n    ")}\n);`;
}
