import { copyToSql } from "../pg/copy-sql.js";
import { ident, qname } from "../pg/sql.js";

/**
 * How a big table is cut into chunks that independent workers dump. On PostgreSQL 14 and later
 * by ctid page ranges: a TID range scan reads just its pages, chunks are even in bytes whatever
 * the keys look like, and the server spends less than on the index scans of key ranges (measured:
 * a 366 MiB table in six key ranges cost the server 1.2 s more CPU than one COPY). Before 14,
 * where a ctid predicate reads the whole table, by ranges of a single-column integer primary or
 * unique key, as pgcopydb does. The first and last ranges are open, so no row falls between chunks.
 */

/** What deciding a table's chunks needs to know about it. */
export interface SplitFacts {
  /** Heap and TOAST bytes. */
  sizeBytes: number;
  /** Heap pages (size / block size): exact on a frozen source, unlike relpages. */
  pages: number;
  /** A single-column integer primary or unique key, with its bounds in the snapshot. */
  key?: { column: string; min: string; max: string; nullable: boolean };
  serverVersionNum: number;
}

/** One chunk: which rows of the table it holds. A table of one chunk has `all`. */
export type ChunkRange =
  | { by: "all" }
  | { by: "key"; column: string; from?: string; to?: string; nulls: boolean }
  | { by: "ctid"; fromPage: number; toPage?: number };

/** Most chunks per table: more would only add per-chunk overhead. */
export const MAX_CHUNKS = 256;

/**
 * The chunks of one table: one (`all`) when it is not larger than `threshold` bytes or cannot
 * be split; otherwise about size / threshold of them.
 */
export function chunkRanges(t: SplitFacts, threshold: number): ChunkRange[] {
  const wanted = Math.min(MAX_CHUNKS, Math.ceil(t.sizeBytes / Math.max(1, threshold)));
  if (t.sizeBytes <= threshold || wanted < 2) return [{ by: "all" }];
  if (t.serverVersionNum >= 140000 && t.pages >= 2) {
    const n = Math.min(wanted, t.pages);
    const per = Math.ceil(t.pages / n);
    const starts = Array.from({ length: Math.ceil(t.pages / per) }, (_, i) => i * per);
    return starts.map((fromPage, i) => ({ by: "ctid" as const, fromPage, ...(i < starts.length - 1 ? { toPage: starts[i + 1]! } : {}) }));
  }
  if (t.key) {
    const min = BigInt(t.key.min);
    const max = BigInt(t.key.max);
    const span = max - min + 1n;
    const n = BigInt(wanted) > span ? Number(span) : wanted;
    if (n < 2) return [{ by: "all" }];
    const bounds = Array.from({ length: n - 1 }, (_, i) => (min + (span * BigInt(i + 1)) / BigInt(n)).toString());
    return Array.from({ length: n }, (_, i) => ({
      by: "key" as const,
      column: t.key!.column,
      ...(i > 0 ? { from: bounds[i - 1]! } : {}),
      ...(i < n - 1 ? { to: bounds[i]! } : {}),
      nulls: i === 0 && t.key!.nullable,
    }));
  }
  return [{ by: "all" }];
}

/** The threshold that splits nothing. */
export const NEVER_SPLIT = Number.MAX_SAFE_INTEGER;

/**
 * The default split threshold: a quarter of an even share of the data between `jobs` workers, so
 * one big table becomes enough chunks to keep every worker busy to the end; never below 64 MiB,
 * where a chunk's own cost (a query, an object) starts to matter.
 *
 * Chunks buy scans side by side on the server's cores, and each costs the server more per row
 * than a whole-table COPY. A server on this machine (`sharesHost`) runs on the cores that compress
 * and hash the rows, so there chunks only cost: a 366 MiB table in 7 chunks took the server 1.2 s
 * more CPU and the backup 5.2 s instead of 4.5 s, on 2 cores. Then nothing is split by default.
 */
export function defaultSplitThreshold(totalBytes: number, jobs: number, sharesHost = false): number {
  if (sharesHost) return NEVER_SPLIT;
  return Math.max(64 * 2 ** 20, Math.ceil(totalBytes / (Math.max(1, jobs) * 4)));
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A byte count, or a size with a unit (`64MiB`, `1GiB`, `500MB`, `2G`); undefined when not one. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[(m[2] || "b").toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

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
