import { ident, qname } from "../pg/sql.js";
import type { TableData } from "../schema/model.js";
import type { ChunkRange } from "./chunks.js";

export interface CopyPlanEntry {
  table: TableData;
  /** Position in the manifest (catalog order), independent of the order tables are read in. */
  order: number;
  /** File name inside the backup's `data/` folder. */
  file: string;
}

/** Largest tables first, so the longest COPY starts at once and small ones fill the gaps. */
export function copyPlan(tables: readonly TableData[]): CopyPlanEntry[] {
  const width = Math.max(4, String(tables.length).length);
  return tables
    .map((table, order) => ({ table, order, file: String(order + 1).padStart(width, "0") }))
    .sort((a, b) => b.table.sizeBytes - a.table.sizeBytes || a.order - b.order);
}

const columnList = (columns: readonly string[]) => (columns.length ? ` (${columns.map(ident).join(", ")})` : "");

export const copyToSql = (t: { schema: string; name: string; columns: readonly string[] }): string =>
  `COPY ${qname(t.schema, t.name)}${columnList(t.columns)} TO STDOUT`;

export const copyFromSql = (t: { schema: string; table: string; columns: readonly string[] }): string =>
  `COPY ${qname(t.schema, t.table)}${columnList(t.columns)} FROM STDIN`;

/**
 * The COPY that reads one unit of a table: the whole table as `COPY t TO` does (its own rows,
 * not its inheritance children's), or one chunk through a query on `ONLY t`.
 */
export function unitCopySql(t: { schema: string; name: string; columns: readonly string[] }, range: ChunkRange): string {
  if (range.by === "all") return copyToSql(t);
  const cols = t.columns.length ? t.columns.map(ident).join(", ") : "";
  return `COPY (SELECT ${cols} FROM ONLY ${qname(t.schema, t.name)} WHERE ${rangePredicate(range)}) TO STDOUT`;
}

function rangePredicate(range: Exclude<ChunkRange, { by: "all" }>): string {
  if (range.by === "ctid") {
    const from = `ctid >= '(${range.fromPage},0)'::pg_catalog.tid`;
    return range.toPage === undefined ? from : `${from} AND ctid < '(${range.toPage},0)'::pg_catalog.tid`;
  }
  const col = ident(range.column);
  const parts = [range.from !== undefined ? `${col} >= ${BigInt(range.from)}` : "", range.to !== undefined ? `${col} < ${BigInt(range.to)}` : ""].filter(Boolean);
  const within = parts.length ? parts.join(" AND ") : "true";
  return range.nulls ? `(${within} OR ${col} IS NULL)` : within;
}
