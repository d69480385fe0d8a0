/** Why schema capture stopped. */
export type SchemaError =
  | {
      _tag: "UnsupportedObject";
      /** e.g. "foreign table", "operator" */
      kind: string;
      name: string;
      message: string;
    }
  | { _tag: "DependencyCycle"; objects: string[]; message: string }
  | { _tag: "CatalogQueryFailed"; what: string; message: string };

export const unsupported = (kind: string, name: string): SchemaError => ({
  _tag: "UnsupportedObject",
  kind,
  name,
  message: `cannot back up ${kind} ${name}: cobalt-backup does not reproduce this kind of object yet, so the backup stops rather than silently omit it`,
});
