import { QueryPool, type Queryable } from "../pg/query-pool.js";
import type { PgClient } from "../pg/session.js";
import { ResultAsync, errAsync, okAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import type { SchemaError } from "./errors.js";
import type { DdlItem, DdlNode, SchemaCapture, TableData } from "./model.js";
import { orderNodes, readDependencies } from "./order.js";
import { capturePostData } from "./post-data.js";
import { capturePrivileges } from "./privileges.js";
import { captureRoles } from "./roles.js";
import { captureRelations } from "./relations.js";
import { captureRoutines } from "./routines.js";
import { captureCollations, captureExtensions, captureSchemas, captureTypes } from "./types.js";
import { findUnsupported } from "./unsupported.js";

/**
 * Reads the whole user schema from the catalogs of the connected database, inside whatever
 * transaction the caller holds (the dump's exported snapshot), with `search_path = ''` so every
 * name the server prints is schema-qualified.
 */
export function captureSchema(client: PgClient | QueryPool, hooks: CaptureHooks = {}): ResultAsync<SchemaCapture, SchemaError> {
  // One connection runs one query at a time: its queries queue in a pool of one.
  return ResultAsync.fromPromise(run(client instanceof QueryPool ? client : new QueryPool([client]), hooks), (cause): SchemaError => ({
    _tag: "CatalogQueryFailed",
    what: "schema capture",
    message: `reading the catalogs failed: ${causeMessage(cause)}${lockTableHint(cause)}`,
  })).andThen((r) => ("_tag" in r ? errAsync(r) : okAsync(r)));
}

/**
 * Every table and view read is locked until the snapshot ends (pg_dump's too): with tens of
 * thousands of them the server's shared lock table (out of shared memory, 53200) runs out.
 */
export const lockTableHint = (cause: unknown): string =>
  (cause as { code?: string }).code === "53200"
    ? "; the server's lock table is too small for this many tables and views: raise max_locks_per_transaction (pg_dump needs the same)"
    : "";

export interface CaptureHooks {
  /**
   * Called as soon as the tables are read, before the rest of the schema (in the same turn of the
   * event loop as their query's end, before the capture sends its next reads): their data can be
   * planned there, and their locks taken. `supported` settles once the check for what cannot be
   * backed up has: true when nothing was found (false: the capture fails with the object it
   * names). No data may be read before it is true.
   */
  onTables?: (tables: TableData[], supported: Promise<boolean>) => void;
  /** The server's `server_version_num`, when the caller has read it already: one round trip fewer. */
  serverVersionNum?: number;
}

async function run(client: QueryPool, hooks: CaptureHooks): Promise<SchemaCapture | SchemaError> {
  const versionNum = hooks.serverVersionNum ?? Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
  // The relations first, with the check for what cannot be backed up, ahead of any other read:
  // the tables' data can be planned (and read) as soon as they are known, while the rest is read.
  // The relations' query (which sizes and so locks every table) is sent first: it goes to the
  // pool's preferred connection, the one that locks the tables.
  let unsupported!: Promise<SchemaError | undefined>;
  const reading = captureRelations(client.first, versionNum, (tables) => hooks.onTables?.(tables, unsupported.then((found) => !found)));
  unsupported = findUnsupported(client.first);
  const [problem, relationsRead] = await Promise.allSettled([unsupported, reading]);
  // An unsupported object is the reason to give, even when a query about it failed meanwhile.
  if (problem.status === "fulfilled" && problem.value) return problem.value;
  if (problem.status === "rejected") throw problem.reason;
  if (relationsRead.status === "rejected") throw relationsRead.reason;
  const relations = relationsRead.value;
  // The rest side by side.
  const parts = [
    captureSchemas(client, versionNum).then(simple),
    captureExtensions(client).then(simple),
    captureCollations(client, versionNum).then(simple),
    captureTypes(client, versionNum),
    captureRoutines(client, versionNum),
    Promise.resolve(relations.nodes),
    capturePostData(client, versionNum),
  ];
  const dependencies = readDependencies(client);
  const privileges = capturePrivileges(client);
  // Every read settles before this returns: none is left running on a connection the caller reuses.
  const settled = await Promise.allSettled([...parts, dependencies, privileges]);
  for (const s of settled) if (s.status === "rejected") throw s.reason;
  const nodes = (await Promise.all(parts)).flat().filter((n) => n.item.sql.trim() !== "");
  const ordered = orderNodes(nodes, await dependencies);
  if ("_tag" in ordered) return ordered;
  const { matviews: captured, tables, sequences } = relations;
  // Materialized views are refreshed in the order they were created: each after those it reads.
  const position = new Map(ordered.items.map((item, i) => [item.id, i]));
  const matviews = [...captured].sort(
    (a, b) => position.get(`materialized view ${a.schema}.${a.name}`)! - position.get(`materialized view ${b.schema}.${b.name}`)!,
  );
  const items = [...ordered.items, ...(await privileges)];
  const roles = await captureRoles(client, items, versionNum);
  return { serverVersionNum: versionNum, items, tables, sequences, matviews, roles };
}

const simple = (items: DdlItem[]): DdlNode[] => items.map((item) => ({ item }));
