import type { TableData } from "../schema/model.js";

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
