import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { copyOut } from "../pg/copy-out.js";
import { copyToSql } from "../pg/copy-sql.js";
import { largeObjectStream, listLargeObjects } from "../pg/large-objects.js";
import { readSequenceStates } from "../pg/sequences.js";
import { VERIFIED_KEY, type Manifest, type Verification } from "../manifest/manifest.js";
import { applySessionSettings, type PgClient } from "../pg/session.js";
import { ResultAsync } from "../result.js";
import { captureSchema } from "../schema/capture.js";
import { compareInventories, inventoryOf, type InventoryDifference } from "../schema/inventory.js";
import { backupPrefix } from "../object/backup-id.js";
import { interrupted, restoreBackup, type RestoreDeps, type RestoreError, type RestoreProgress } from "../restore/restore-backup.js";
import { causeMessage } from "../util/errors.js";
import { Meter, PartHasher } from "../util/meter.js";
import { runPool } from "../util/pool.js";
import { readableOf } from "../util/readable.js";

/** Why verification could not run to a verdict (a verdict of "different" is a report, not an error). */
export type VerifyError = RestoreError | { _tag: "ReadBackFailed"; message: string };

export interface TableCheck {
  table: string;
  expectedRows: number;
  rows: number;
  expectedSha256: string;
  sha256: string;
  ok: boolean;
}

export interface VerifyReport {
  id: string;
  ok: boolean;
  target: string;
  tables: TableCheck[];
  inventory: InventoryDifference[];
  /** False when the backup was written by another tool version: objects compared by presence only. */
  definitionsCompared: boolean;
  sequences: { name: string; expected: string; actual: string }[];
  matviews: { name: string; expected: boolean; actual: boolean }[];
  largeObjects: { expected: number; actual: number; ok: boolean };
  durationMs: number;
}

export interface VerifyInput {
  id: string;
  jobs: number;
  /** How the scratch target is named in the report, without credentials. */
  targetName: string;
  /** The running tool's version: object definitions are compared only with backups it wrote. */
  toolVersion: string;
}

/**
 * Proves a backup restores: restores it into an empty scratch database, then re-reads every
 * table's COPY stream and compares row count and sha256 with the manifest, and compares the
 * object inventory, sequence states, materialized view states and large objects.
 */
export function verifyRestore(deps: RestoreDeps, input: VerifyInput): ResultAsync<VerifyReport, VerifyError> {
  const t0 = performance.now();
  return restoreBackup(deps, { id: input.id, jobs: input.jobs, clean: false, targetName: input.targetName, orderedLoad: true, analyze: false }).andThen((restored) =>
    ResultAsync.fromPromise(compare(deps, input, restored.manifest, t0), (e): VerifyError =>
      deps.signal?.aborted ? interrupted(deps.signal) : { _tag: "ReadBackFailed", message: `reading the restored database back failed: ${causeMessage(e)}` },
    ),
  );
}

async function compare(deps: RestoreDeps, input: VerifyInput, manifest: Manifest, t0: number): Promise<VerifyReport> {
  const clients: PgClient[] = [];
  const onAbort = () => clients.forEach((c) => void c.end().catch(() => {}));
  deps.signal?.addEventListener("abort", onAbort, { once: true });
  const progress: RestoreProgress = { phase: "read-back", tablesTotal: manifest.tables.length, tablesDone: 0, rows: 0 };
  deps.onProgress?.({ ...progress });
  try {
    for (let i = 0; i < Math.max(1, input.jobs); i++) {
      const c = await deps.connect();
      await applySessionSettings(c);
      await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      clients.push(c);
    }
    const main = clients[0]!;
    const tables: TableCheck[] = new Array(manifest.tables.length);
    await runPool(clients, manifest.tables.map((t, i) => ({ t, i })), async (client, { t, i }) => {
      const streaming = { table: `${t.schema}.${t.table}`, rows: 0, rawBytes: 0, expectedRows: t.rows };
      const meter = new Meter((bytes, lines) => {
        streaming.rows += lines;
        streaming.rawBytes += bytes;
        deps.onProgress?.({ ...progress, rows: progress.rows + streaming.rows, streaming: { ...streaming } });
      });
      // Restored part after part, the table reads back as the same pieces: each is compared.
      const pieces = new PartHasher(t.parts.map((p) => p.rows));
      await pipeline(client.query(copyOut(copyToSql({ schema: t.schema, name: t.table, columns: t.columns }))), meter, pieces);
      const partsOk = pieces.pieces.length === t.parts.length && t.parts.every((p, j) => pieces.pieces[j]!.rows === p.rows && pieces.pieces[j]!.sha256 === p.rawSha256);
      const expectedSha256 = tableDigest(t.parts.map((p) => p.rawSha256));
      const sha256 = tableDigest(pieces.pieces.map((p) => p.sha256));
      tables[i] = { table: `${t.schema}.${t.table}`, expectedRows: t.rows, rows: meter.lines, expectedSha256, sha256, ok: meter.lines === t.rows && partsOk };
      progress.tablesDone++;
      progress.rows += meter.lines;
      deps.onProgress?.({ ...progress, table: streaming.table });
    });

    const captured = await captureSchema(main);
    if (captured.isErr()) throw new Error(captured.error.message);
    const sameRenderer = manifest.tool.version === input.toolVersion;
    const inventory = compareInventories(manifest.inventory, inventoryOf(captured.value.items), { definitions: sameRenderer });

    const states = await readSequenceStates(main, manifest.sequences);
    const sequences = manifest.sequences
      .map((s, i) => ({ s, a: states[i]! }))
      .filter(({ s, a }) => s.lastValue !== a.lastValue || s.isCalled !== a.isCalled)
      .map(({ s, a }) => ({ name: `${s.schema}.${s.name}`, expected: `${s.lastValue}/${s.isCalled}`, actual: `${a.lastValue}/${a.isCalled}` }));

    const populated = new Map(captured.value.matviews.map((m) => [`${m.schema}.${m.name}`, m.populated]));
    const matviews = manifest.matviews
      .map((m) => ({ name: `${m.schema}.${m.name}`, expected: m.populated, actual: populated.get(`${m.schema}.${m.name}`) ?? false }))
      .filter((m) => m.expected !== m.actual);

    const oids = await listLargeObjects(main);
    let largeObjects = { expected: manifest.largeObjects?.count ?? 0, actual: oids.length, ok: oids.length === (manifest.largeObjects?.count ?? 0) };
    if (manifest.largeObjects && oids.length > 0) {
      const meter = new Meter();
      await pipeline(largeObjectStream(main, oids), meter, new Writable({ write: (_c, _e, done) => done() }));
      largeObjects = { ...largeObjects, ok: largeObjects.ok && meter.sha256() === manifest.largeObjects.rawSha256 };
    }

    const ok = tables.every((t) => t.ok) && inventory.length === 0 && sequences.length === 0 && matviews.length === 0 && largeObjects.ok;
    return { id: input.id, ok, target: input.targetName, tables, inventory, definitionsCompared: sameRenderer, sequences, matviews, largeObjects, durationMs: Math.round(performance.now() - t0) };
  } finally {
    deps.signal?.removeEventListener("abort", onAbort);
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/** A table's digest: its one part's raw sha256, or the sha256 of its parts' digests in order. */
export const tableDigest = (parts: readonly string[]): string => (parts.length === 1 ? parts[0]! : createHash("sha256").update(parts.join("")).digest("hex"));

/** The number of places a verification found the restored copy different from the manifest. */
export const differencesOf = (r: VerifyReport): number =>
  r.tables.filter((t) => !t.ok).length + r.inventory.length + r.sequences.length + r.matviews.length + (r.largeObjects.ok ? 0 : 1);

/**
 * Records a verification's verdict next to the manifest, passed or failed: only verified backups
 * count for retention, and `list` tells a failed verification from none.
 */
export function recordVerification(deps: Pick<RestoreDeps, "store">, report: VerifyReport, at: Date): ResultAsync<Verification, VerifyError> {
  return writeVerification(deps, report.id, {
    verifiedAt: at.toISOString(),
    ok: report.ok,
    target: report.target,
    tables: report.tables.length,
    rows: report.tables.reduce((s, t) => s + t.rows, 0),
    ...(report.ok ? {} : { problem: `the restored copy differs from the manifest in ${differencesOf(report)} place(s)` }),
  });
}

/** Records that verifying a backup proved it bad (a corrupt or missing object) before any comparison. */
export function recordFailedVerification(deps: Pick<RestoreDeps, "store">, id: string, target: string, problem: string, at: Date): ResultAsync<Verification, VerifyError> {
  return writeVerification(deps, id, { verifiedAt: at.toISOString(), ok: false, target, tables: 0, rows: 0, problem });
}

const writeVerification = (deps: Pick<RestoreDeps, "store">, id: string, v: Verification): ResultAsync<Verification, VerifyError> =>
  deps.store
    .put(`${backupPrefix(id)}${VERIFIED_KEY}`, readableOf(JSON.stringify(v, null, 2)))
    .map(() => v)
    .mapErr((e): VerifyError => ({ _tag: "StoreFailed", storeError: e, message: e.message }));

const MiB = 1024 * 1024;

/**
 * About how many bytes a restore of this backup takes on the scratch server's disk, checked before
 * verification starts: the source database's size when it was dumped (twice the COPY text for
 * backups that did not record it), write-ahead log up to 1 GiB, and a fresh cluster.
 */
export function restoreSpaceNeeded(m: Manifest): number {
  const data = m.source.databaseBytes ?? 2 * (m.totals.rawBytes + (m.largeObjects?.rawBytes ?? 0));
  return data + Math.min(data, 1024 * MiB) + 64 * MiB;
}
