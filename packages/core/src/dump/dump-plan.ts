import { z } from "zod";
import { sourceSchema, storedObjectSchema, tablePartSchema } from "../manifest/manifest.js";

/**
 * A backup as a plan of independent units, stored under the backup's prefix before any data:
 * `plan.json` (this), then one object and one marker (`units/<n>.json`) per unit, then
 * `manifest.json`. A unit is a table, a chunk of one, or the large objects.
 */
export const PLAN_FORMAT = "cobalt-backup-plan/1";
export const PLAN_KEY = "plan.json";
/** The units as a JSON array of `{ "unit": n }`: what a Step Functions Distributed Map reads. */
export const UNITS_KEY = "units.json";
export const markerKey = (unit: number): string => `units/${String(unit).padStart(5, "0")}.json`;

const chunkRange = z.discriminatedUnion("by", [
  z.object({ by: z.literal("all") }),
  z.object({ by: z.literal("key"), column: z.string(), from: z.string().optional(), to: z.string().optional(), nulls: z.boolean() }),
  z.object({ by: z.literal("ctid"), fromPage: z.number().int().nonnegative(), toPage: z.number().int().positive().optional() }),
]);

const unitSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("table"),
    unit: z.number().int().nonnegative(),
    /** Index into `tables`, and the part's place in the table. */
    table: z.number().int().nonnegative(),
    part: z.number().int().nonnegative(),
    key: z.string(),
    range: chunkRange,
    /** Heap bytes this unit reads, about: for part sizes and largest-first scheduling. */
    sizeBytes: z.number().nonnegative(),
  }),
  z.object({ kind: z.literal("large-objects"), unit: z.number().int().nonnegative(), key: z.string(), count: z.number().int().nonnegative() }),
]);

export const dumpPlanSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  id: z.string(),
  /**
   * `live`: every unit reads one exported snapshot, so all run in the process that holds it.
   * `frozen`: nothing writes to the source, so any unit may run anywhere, later, or again.
   */
  consistency: z.enum(["live", "frozen"]),
  startedAt: z.string(),
  source: sourceSchema,
  settings: z.object({
    compression: z.enum(["zstd", "gzip", "none"]),
    compressionLevel: z.number().int().optional(),
    encryption: z.object({ format: z.literal("age"), recipients: z.array(z.string()), passphrase: z.boolean() }).nullable(),
    lockUntil: z.string().nullable(),
    splitLargerThan: z.number().int().positive(),
    jobs: z.number().int().positive(),
  }),
  schema: storedObjectSchema.extend({ kind: z.literal("schema"), items: z.number().int() }),
  tables: z.array(z.object({ schema: z.string(), table: z.string(), columns: z.array(z.string()), sizeBytes: z.number().nonnegative() })),
  units: z.array(unitSchema),
  sequences: z.array(z.object({ schema: z.string(), name: z.string(), lastValue: z.string(), isCalled: z.boolean() })),
  matviews: z.array(z.object({ schema: z.string(), name: z.string(), populated: z.boolean() })),
  inventory: z.array(z.object({ kind: z.string(), name: z.string(), sha256: z.string() })),
  schemaMs: z.number(),
});
export type DumpPlan = z.infer<typeof dumpPlanSchema>;
export type PlanUnit = z.infer<typeof unitSchema>;
/** What running the units needs of a plan: known as soon as the tables are, before the rest of the schema. */
export type DataPlan = Pick<DumpPlan, "id" | "settings" | "tables" | "units">;

/**
 * What a unit wrote: its object's entry in the manifest, kept beside it until the commit, and
 * which attempt wrote it (a resumed backup reports how many units an earlier attempt had done).
 */
export const unitMarkerSchema = tablePartSchema.extend({ unit: z.number().int().nonnegative(), attempt: z.string() });
export type UnitMarker = z.infer<typeof unitMarkerSchema>;

/** Units largest first, so the longest COPY starts at once and small ones fill the gaps; plan order among equals. */
export const largestFirst = (units: readonly PlanUnit[]): PlanUnit[] =>
  [...units].sort((a, b) => (b.kind === "table" ? b.sizeBytes : 0) - (a.kind === "table" ? a.sizeBytes : 0) || a.unit - b.unit);
