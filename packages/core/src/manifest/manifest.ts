import { z } from "zod";

/** Format 2: a table's data may be several parts (chunks read by independent units). */
export const MANIFEST_FORMAT = "cobalt-backup/2";
/** Format 1 (one object per table) is still read: such backups keep restoring and verifying. */
export const MANIFEST_FORMAT_1 = "cobalt-backup/1";
export const MANIFEST_KEY = "manifest.json";
export const VERIFIED_KEY = "verified.json";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const compression = z.enum(["zstd", "gzip", "none"]);

/** An object of the backup as stored: its size and digest are checked on every read. */
export const storedObjectSchema = z.object({
  key: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256,
});
const storedObject = storedObjectSchema;

/** One object of a table's data: a chunk of its rows, in the order a restore loads them. */
export const tablePartSchema = storedObject.extend({
  rows: z.number().int().nonnegative(),
  /** Size and digest of the uncompressed COPY text: what verify re-reads from a restore. */
  rawBytes: z.number().int().nonnegative(),
  rawSha256: sha256,
});

const tableObject = z.object({
  kind: z.literal("table-data"),
  schema: z.string(),
  table: z.string(),
  columns: z.array(z.string()),
  rows: z.number().int().nonnegative(),
  rawBytes: z.number().int().nonnegative(),
  /** Stored bytes of all parts. */
  bytes: z.number().int().nonnegative(),
  parts: z.array(tablePartSchema).min(1),
});

/** Format 1's table entry: one object per table. */
const tableObject1 = storedObject.extend({
  kind: z.literal("table-data"),
  schema: z.string(),
  table: z.string(),
  columns: z.array(z.string()),
  rows: z.number().int().nonnegative(),
  rawBytes: z.number().int().nonnegative(),
  rawSha256: sha256,
});

const schemaObject = storedObject.extend({ kind: z.literal("schema"), items: z.number().int() });
const largeObjectsObject = storedObject.extend({
  kind: z.literal("large-objects"),
  count: z.number().int().nonnegative(),
  rawBytes: z.number().int().nonnegative(),
  rawSha256: sha256,
});

/** Where a backup came from: never a password. */
export const sourceSchema = z.object({
  kind: z.enum(["postgres-url", "rds-snapshot"]),
  /** Host, port, database, user; never a password. */
  host: z.string(),
  port: z.number().int(),
  database: z.string(),
  user: z.string(),
  serverVersion: z.string(),
  serverVersionNum: z.number().int(),
  encoding: z.string(),
  snapshotTime: z.string(),
  /** pg_database_size of the source when it was dumped: what a restore needs on disk, about. */
  databaseBytes: z.number().int().nonnegative().optional(),
  instance: z.string().optional(),
  snapshotId: z.string().optional(),
});
export type BackupSource = z.infer<typeof sourceSchema>;

const manifestFields = {
  tool: z.object({ name: z.string(), version: z.string() }),
  id: z.string(),
  startedAt: z.string(),
  completedAt: z.string(),
  source: sourceSchema,
  settings: z.object({
    jobs: z.number().int().positive(),
    compression,
    compressionLevel: z.number().int().optional(),
    session: z.record(z.string(), z.string()),
  }),
  compression,
  /** S3 Object Lock: no object of this backup can be deleted before then. */
  lockUntil: z.string().nullable().optional(),
  /** age encryption of every object but the manifest: public recipients only, never keys. */
  encryption: z.object({ format: z.literal("age"), recipients: z.array(z.string()), passphrase: z.boolean() }).nullable(),
  schema: schemaObject,
  largeObjects: largeObjectsObject.nullable(),
  sequences: z.array(z.object({ schema: z.string(), name: z.string(), lastValue: z.string(), isCalled: z.boolean() })),
  matviews: z.array(z.object({ schema: z.string(), name: z.string(), populated: z.boolean() })),
  inventory: z.array(z.object({ kind: z.string(), name: z.string(), sha256 })),
  totals: z.object({
    tables: z.number().int(),
    rows: z.number().int(),
    rawBytes: z.number().int(),
    storedBytes: z.number().int(),
  }),
  timings: z.object({ schemaMs: z.number(), dataMs: z.number(), totalMs: z.number() }),
};

const manifest2 = z.object({
  format: z.literal(MANIFEST_FORMAT),
  ...manifestFields,
  tables: z.array(tableObject),
  /** Which rule kept the units consistent (see DumpPlan.consistency). */
  consistency: z.enum(["live", "frozen"]),
  /** Units the backup was made of, and how many an interrupted attempt had already done. */
  units: z.object({ total: z.number().int().nonnegative(), reused: z.number().int().nonnegative() }),
});

const manifest1 = z.object({ format: z.literal(MANIFEST_FORMAT_1), ...manifestFields, tables: z.array(tableObject1) });

/** Reads either format; a format-1 manifest is read as format 2 (each table one part). */
export const manifestSchema = z.union([manifest2, manifest1.transform((m): z.infer<typeof manifest2> => ({
  ...m,
  format: MANIFEST_FORMAT,
  tables: m.tables.map(({ key, bytes, sha256, rows, rawBytes, rawSha256, ...t }) => ({ ...t, rows, rawBytes, bytes, parts: [{ key, bytes, sha256, rows, rawBytes, rawSha256 }] })),
  consistency: "live",
  units: { total: m.tables.length + (m.largeObjects ? 1 : 0), reused: 0 },
}))]);

export type Manifest = z.infer<typeof manifest2>;
export type TableObject = z.infer<typeof tableObject>;
export type TablePart = z.infer<typeof tablePartSchema>;
export type LargeObjectsObject = z.infer<typeof largeObjectsObject>;
export type SchemaObject = z.infer<typeof schemaObject>;

/** Every stored object a manifest lists, in the order restore reads them. */
export const storedObjects = (m: Manifest): { key: string; bytes: number; sha256: string }[] => [
  m.schema,
  ...m.tables.flatMap((t) => t.parts),
  ...(m.largeObjects ? [m.largeObjects] : []),
];

/** `verified.json`: the last verification's verdict, passed or failed (`list` tells them apart). */
export const verificationSchema = z.object({
  verifiedAt: z.string(),
  ok: z.boolean(),
  target: z.string(),
  tables: z.number().int(),
  rows: z.number().int(),
  /** Why it failed: the difference or the corruption found. */
  problem: z.string().optional(),
});
export type Verification = z.infer<typeof verificationSchema>;
