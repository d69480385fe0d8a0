import { ident, qname } from "./sql.js";

const columnList = (columns: readonly string[]) => (columns.length ? ` (${columns.map(ident).join(", ")})` : "");

/** `COPY table (columns) TO STDOUT`: a table's rows as COPY text, in the session's settings. */
export const copyToSql = (t: { schema: string; name: string; columns: readonly string[] }): string =>
  `COPY ${qname(t.schema, t.name)}${columnList(t.columns)} TO STDOUT`;

/** `COPY table (columns) FROM STDIN`: loads COPY text written by `copyToSql`. */
export const copyFromSql = (t: { schema: string; table: string; columns: readonly string[] }): string =>
  `COPY ${qname(t.schema, t.table)}${columnList(t.columns)} FROM STDIN`;
