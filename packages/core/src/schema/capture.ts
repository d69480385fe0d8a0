import type { PgClient } from "../pg/session.js";
import { ResultAsync, errAsync, okAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import type { SchemaError } from "./errors.js";
import type { DdlItem, DdlNode, SchemaCapture } from "./model.js";
import { orderItems } from "./order.js";
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
export function captureSchema(client: PgClient): ResultAsync<SchemaCapture, SchemaError> {
  return ResultAsync.fromPromise(run(client), (cause): SchemaError => ({
    _tag: "CatalogQueryFailed",
    what: "schema capture",
    message: `reading the catalogs failed: ${causeMessage(cause)}${lockTableHint(cause)}`,
  })).andThen((r) => ("_tag" in r ? errAsync(r) : okAsync(r)));
}

/**
 * Every table and view read is locked until the snapshot ends (pg_dump's too): with tens of
 * thousands of them the server's shared lock table (out of shared memory, 53200) runs out.
 */
const lockTableHint = (cause: unknown): string =>
  (cause as { code?: string }).code === "53200"
    ? "; the server's lock table is too small for this many tables and views: raise max_locks_per_transaction (pg_dump needs the same)"
    : "";

async function run(client: PgClient): Promise<SchemaCapture | SchemaError> {
  const [{ v }] = (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows as [{ v: string }];
  const versionNum = Number(v);
  const problem = await findUnsupported(client);
  if (problem) return problem;
  const relations = await captureRelations(client, versionNum);
  const simple = (items: DdlItem[]): DdlNode[] => items.map((item) => ({ item }));
  const nodes = [
    ...simple(await captureSchemas(client, versionNum)),
    ...simple(await captureExtensions(client)),
    ...simple(await captureCollations(client, versionNum)),
    ...(await captureTypes(client, versionNum)),
    ...(await captureRoutines(client, versionNum)),
    ...relations.nodes,
    ...(await capturePostData(client, versionNum)),
  ].filter((n) => n.item.sql.trim() !== "");
  const ordered = await orderItems(client, nodes);
  if ("_tag" in ordered) return ordered;
  // Materialized views are refreshed in the order they were created: each after those it reads.
  const position = new Map(ordered.items.map((item, i) => [item.id, i]));
  const matviews = [...relations.matviews].sort(
    (a, b) => position.get(`materialized view ${a.schema}.${a.name}`)! - position.get(`materialized view ${b.schema}.${b.name}`)!,
  );
  const items = [...ordered.items, ...(await capturePrivileges(client))];
  const roles = await captureRoles(client, items, versionNum);
  return { serverVersionNum: versionNum, items, tables: relations.tables, sequences: relations.sequences, matviews, roles };
}
