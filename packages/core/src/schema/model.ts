/** What schema capture produces: ordered DDL items plus the facts the data path needs. */

import type { RoleSpec } from "./roles.js";

/** `privileges` (owners, GRANTs) is applied last, only where its roles exist on the target. */
export type Section = "pre-data" | "post-data" | "privileges";

/**
 * Post-data items are ordered by their dependencies; the phase breaks ties (indexes first, then
 * attachments and postponed definitions, foreign keys, behaviour) and marks what may run in
 * parallel: consecutive `indexes` items that do not depend on one another (index builds).
 */
export const POST_DATA_PHASE = {
  indexes: 1,
  attach: 2,
  foreignKeys: 3,
  behaviour: 4,
} as const;

export interface DdlItem {
  /** Stable identity, e.g. `table public.film`; unique within one capture. */
  id: string;
  kind: string;
  /** Display name, schema-qualified. */
  name: string;
  section: Section;
  /** One or more complete statements. */
  sql: string;
  /** Post-data phase (see POST_DATA_PHASE); 0 for pre-data. */
  phase: number;
  /** Catalog identity used for dependency ordering: `classid:objid` keys this item stands for. */
  catalogKeys: string[];
  /**
   * Ids of the items that must run before this one. At capture time: ordering constraints beyond
   * what pg_depend records. In a captured schema: every direct dependency on another item, after
   * loop repair, so a restore can schedule items (and select them) by their real dependencies.
   */
  dependsOn?: string[];
  /** Roles the statement names (privileges section): skipped where one does not exist. */
  roles?: string[];
}

/**
 * A capture-time object: one item, plus what dependency-loop repair (as pg_dump's
 * `repairDependencyLoop` does) may do with it. Never serialized.
 */
export interface DdlNode {
  item: DdlItem;
  /**
   * Pieces rendered inside `item.sql` (a table's CHECK constraints, a domain's, a view's query)
   * that repair may split off into their own post-data item: each part's `sql` is that separate
   * form, its `catalogKeys` the catalog rows it stands for.
   */
  parts?: DdlItem[];
  /** `item.sql` without the parts whose ids are given (required when `parts` is set). */
  renderWithout?: (split: ReadonlySet<string>) => string;
  /** Repair may move the whole item after the data (materialized views, SQL-standard bodies). */
  postponable?: boolean;
  /** Catalog keys of objects this must follow beyond pg_depend (an attach needs both indexes). */
  dependsOnKeys?: string[];
}

export interface TableData {
  oid: number;
  schema: string;
  name: string;
  /** Columns COPY reads and writes: not dropped, not generated. */
  columns: string[];
  /**
   * On-disk size of the rows: heap and TOAST (a table of a few rows of large values is large),
   * for largest-first scheduling, splitting, and sizing what its objects are written with.
   */
  sizeBytes: number;
}

export interface SequenceRef {
  schema: string;
  name: string;
}

export interface MatviewRef {
  schema: string;
  name: string;
  populated: boolean;
}

export interface SchemaCapture {
  serverVersionNum: number;
  items: DdlItem[];
  /** The roles the objects use, for a restore into a fresh server (schema/roles.ts). */
  roles: RoleSpec[];
  tables: TableData[];
  sequences: SequenceRef[];
  matviews: MatviewRef[];
}

/** One line of the object inventory: what exists, and a digest of how it is defined. */
export interface InventoryEntry {
  kind: string;
  name: string;
  sha256: string;
}
