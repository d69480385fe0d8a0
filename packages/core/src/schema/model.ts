/** What schema capture produces: ordered DDL items plus the facts the data path needs. */

import type { RoleSpec } from "./roles.js";

/** `privileges` (owners, GRANTs) is applied last, only where its roles exist on the target. */
export type Section = "pre-data" | "post-data" | "privileges";

/**
 * Post-data runs in phases; items inside one phase may run in parallel (index builds), phases
 * run in order so that, e.g., foreign keys find the unique indexes they need.
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
  /** Item ids that must run first, beyond what pg_depend records. */
  dependsOn?: string[];
  /** Roles the statement names (privileges section): skipped where one does not exist. */
  roles?: string[];
}

export interface TableData {
  oid: number;
  schema: string;
  name: string;
  /** Columns COPY reads and writes: not dropped, not generated. */
  columns: string[];
  /** On-disk size, for largest-first scheduling. */
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
