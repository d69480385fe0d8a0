import type { PgClient } from "../pg/session.js";
import { ResultAsync, errAsync, okAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import type { SchemaError } from "./errors.js";
import type { SchemaCapture } from "./model.js";
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
    message: `reading the catalogs failed: ${causeMessage(cause)}`,
  })).andThen((r) => ("_tag" in r ? errAsync(r) : okAsync(r)));
}

async function run(client: PgClient): Promise<SchemaCapture | SchemaError> {
  const [{ v }] = (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows as [{ v: string }];
  const versionNum = Number(v);
  const problem = await findUnsupported(client);
  if (problem) return problem;
  const relations = await captureRelations(client, versionNum);
  const items = [
    ...(await captureSchemas(client, versionNum)),
    ...(await captureExtensions(client)),
    ...(await captureCollations(client, versionNum)),
    ...(await captureTypes(client, versionNum)),
    ...(await captureRoutines(client)),
    ...relations.items,
    ...(await capturePostData(client, versionNum)),
    ...(await capturePrivileges(client)),
  ].filter((i) => i.sql.trim() !== "");
  const ordered = await orderItems(client, items);
  if (!Array.isArray(ordered)) return ordered;
  const roles = await captureRoles(client, ordered, versionNum);
  return { serverVersionNum: versionNum, items: ordered, tables: relations.tables, sequences: relations.sequences, matviews: relations.matviews, roles };
}
