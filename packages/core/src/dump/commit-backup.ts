import { MANIFEST_FORMAT, MANIFEST_KEY, type Manifest, type TableObject } from "../manifest/manifest.js";
import { SESSION_SETTINGS } from "../pg/session.js";
import type { ResultAsync } from "../result.js";
import { backupPrefix } from "../object/backup-id.js";
import type { BackupStore } from "../store/backup-store.js";
import { fail, settleDump, type DumpError } from "./dump-errors.js";
import type { DumpPlan, UnitMarker } from "./dump-plan.js";
import { validMarker } from "./dump-unit.js";
import { putJson, readPlan } from "./plan-dump.js";

export interface CommitDeps {
  store: BackupStore;
  tool: { name: string; version: string };
  now?: () => Date;
  signal?: AbortSignal;
}

export interface CommitInput {
  id: string;
  /** The attempt committing: units whose markers another attempt wrote count as reused. */
  attempt: string;
  /** How long the data took, when the caller timed it (a local run); otherwise from the plan's start. */
  dataMs?: number;
}

export interface CommitOutput {
  id: string;
  manifest: Manifest;
  manifestKey: string;
  units: number;
  reusedUnits: number;
}

/**
 * Commits a planned backup: reads the plan and every unit's marker, refuses (`UnitsMissing`, with
 * their numbers) when a unit has no valid marker and object, and otherwise writes
 * `manifest.json`, the commit marker, last.
 */
export function commitBackup(deps: CommitDeps, input: CommitInput): ResultAsync<CommitOutput, DumpError> {
  return settleDump(
    (async () => {
      const plan = await readPlan(deps.store, input.id);
      if (!plan) return fail({ _tag: "PlanMissing", id: input.id, message: `backup ${input.id} has no plan: there is nothing to commit` });
      const prefix = backupPrefix(plan.id);
      const listed = await deps.store.list(prefix);
      if (listed.isErr()) return fail({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
      const sizes = new Map(listed.value.map((o) => [o.key.slice(prefix.length), o.bytes]));
      const markers: UnitMarker[] = [];
      const missing: number[] = [];
      for (const unit of plan.units) {
        const m = await validMarker(deps.store, plan.id, unit, sizes);
        if (m) markers.push(m);
        else missing.push(unit.unit);
      }
      if (missing.length > 0) {
        return fail({ _tag: "UnitsMissing", id: plan.id, units: missing, message: `backup ${plan.id} is missing ${missing.length} of ${plan.units.length} unit(s) (${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}): dump them, then commit` });
      }
      const completed = (deps.now ?? (() => new Date()))();
      const manifest = buildManifest(plan, markers, { tool: deps.tool, completedAt: completed, attempt: input.attempt, ...(input.dataMs !== undefined ? { dataMs: input.dataMs } : {}) });
      deps.signal?.throwIfAborted();
      // The commit: a backup exists once, and only once, this object does.
      await putJson(deps.store, `${prefix}${MANIFEST_KEY}`, manifest, deps.signal);
      return { id: plan.id, manifest, manifestKey: `${prefix}${MANIFEST_KEY}`, units: plan.units.length, reusedUnits: manifest.units.reused };
    })(),
    deps.signal,
  );
}

/**
 * The manifest of a backup whose every unit is done: the plan's source, settings and schema, each
 * table's parts in order from the markers, totals. Pure.
 */
export function buildManifest(
  plan: DumpPlan,
  markers: readonly UnitMarker[],
  opts: { tool: { name: string; version: string }; completedAt: Date; attempt: string; dataMs?: number },
): Manifest {
  const byUnit = new Map(markers.map((m) => [m.unit, m]));
  const part = (unit: number) => {
    const m = byUnit.get(unit);
    if (!m) throw new Error(`unit ${unit} has no marker`);
    return { key: m.key, bytes: m.bytes, sha256: m.sha256, rows: m.rows, rawBytes: m.rawBytes, rawSha256: m.rawSha256 };
  };
  const tables: TableObject[] = plan.tables.map((t, ti) => {
    const parts = plan.units.filter((u) => u.kind === "table" && u.table === ti).sort((a, b) => (a.kind === "table" && b.kind === "table" ? a.part - b.part : 0)).map((u) => part(u.unit));
    return {
      kind: "table-data",
      schema: t.schema,
      table: t.table,
      columns: t.columns,
      rows: parts.reduce((s, p) => s + p.rows, 0),
      rawBytes: parts.reduce((s, p) => s + p.rawBytes, 0),
      bytes: parts.reduce((s, p) => s + p.bytes, 0),
      parts,
    };
  });
  const lo = plan.units.find((u) => u.kind === "large-objects");
  const loPart = lo ? part(lo.unit) : undefined;
  const started = new Date(plan.startedAt);
  const totalMs = Math.max(0, opts.completedAt.getTime() - started.getTime());
  return {
    format: MANIFEST_FORMAT,
    tool: opts.tool,
    id: plan.id,
    startedAt: plan.startedAt,
    completedAt: opts.completedAt.toISOString(),
    source: plan.source,
    settings: {
      jobs: plan.settings.jobs,
      compression: plan.settings.compression,
      ...(plan.settings.compressionLevel !== undefined ? { compressionLevel: plan.settings.compressionLevel } : {}),
      session: { ...SESSION_SETTINGS },
    },
    compression: plan.settings.compression,
    lockUntil: plan.settings.lockUntil,
    encryption: plan.settings.encryption,
    schema: plan.schema,
    tables,
    largeObjects: lo && loPart && lo.kind === "large-objects" ? { kind: "large-objects", key: loPart.key, count: lo.count, rawBytes: loPart.rawBytes, rawSha256: loPart.rawSha256, bytes: loPart.bytes, sha256: loPart.sha256 } : null,
    sequences: plan.sequences,
    matviews: plan.matviews,
    inventory: plan.inventory,
    totals: {
      tables: tables.length,
      rows: tables.reduce((s, t) => s + t.rows, 0),
      rawBytes: tables.reduce((s, t) => s + t.rawBytes, 0),
      storedBytes: tables.reduce((s, t) => s + t.bytes, 0) + plan.schema.bytes + (loPart?.bytes ?? 0),
    },
    consistency: plan.consistency,
    units: { total: plan.units.length, reused: markers.filter((m) => m.attempt !== opts.attempt).length },
    timings: { schemaMs: plan.schemaMs, dataMs: Math.round(opts.dataMs ?? Math.max(0, totalMs - plan.schemaMs)), totalMs },
  };
}
