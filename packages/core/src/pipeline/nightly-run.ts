import type { PgConnect } from "../pg/session.js";
import { ResultAsync } from "../result.js";
import { pruneBackups } from "../retention/prune.js";
import type { RetentionPolicy } from "../retention/policy.js";
import { backupPrefix } from "../store/backup-id.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { readableOf } from "../util/readable.js";
import { streamDump, type DumpInput, type DumpProgress } from "../dump/stream-dump.js";
import type { EncryptionKeys, DecryptionKeys } from "../dump/encryption.js";
import type { Compression } from "../dump/compression.js";
import { recordVerification, verifyRestore, type VerifyReport } from "../verify/verify-restore.js";

/** The stages of a nightly run, in order; a report and a notification name the one that failed. */
export type StageName = "snapshot" | "dump" | "upload" | "cleanup" | "verify" | "hook" | "retention";

export interface StageReport {
  stage: StageName;
  status: "ok" | "failed" | "skipped";
  durationMs: number;
  detail?: string;
}

export interface RunReport {
  ok: boolean;
  /** The stage that failed first, when one did. */
  failedStage?: StageName;
  error?: string;
  id?: string;
  location: string;
  startedAt: string;
  finishedAt: string;
  source: string;
  stages: StageReport[];
  totals?: { tables: number; rows: number; rawBytes: number; storedBytes: number };
  verification?: { ok: boolean; tables: number; differences: number };
  retention?: { removed: string[]; kept: number };
}

/** An opened source: a URL, or a temporary instance restored from a snapshot. */
export interface OpenedSource {
  connect: PgConnect;
  describe: DumpInput["source"];
  /** Ends the use of the source (deletes a temporary instance). */
  close(): Promise<void>;
}

/** A fresh, empty database to verify into. */
export interface Scratch {
  connect: PgConnect;
  /** How it is named in reports (no credentials). */
  name: string;
  /** Its URL with credentials, for a post-restore hook; never reported. */
  url?: string;
  dispose(): Promise<void>;
}

export interface NightlyDeps {
  store: BackupStore;
  tool: { name: string; version: string };
  /** Opens the source; the `snapshot` stage when it restores an RDS snapshot. Rejects with a message. */
  openSource(): Promise<OpenedSource>;
  /** Whether openSource restores a snapshot (for the report's stage list). */
  sourceIsSnapshot: boolean;
  openScratch(sourceMajor: number): Promise<Scratch>;
  /** Runs the post-restore hook against the verified scratch copy, never the source. */
  runHook?: (scratch: Scratch) => Promise<string | void>;
  now?: () => Date;
  onProgress?: (p: DumpProgress) => void;
  onStage?: (s: StageReport) => void;
}

export interface NightlyInput {
  jobs: number;
  compression: Compression;
  encryption?: EncryptionKeys;
  decryption?: DecryptionKeys;
  lockUntil?: Date;
  verify: boolean;
  retention?: RetentionPolicy;
}

/**
 * The nightly job as one composition of the stages: open the source (snapshot -> temporary
 * instance), dump and upload, close the source (delete the instance), verify by restoring into a
 * scratch database, run the post-restore hook there, apply retention. Always resolves to a report
 * (a failure is a report with `ok: false` and the failed stage), and always closes what it opened.
 */
export function runNightly(deps: NightlyDeps, input: NightlyInput): ResultAsync<RunReport, never> {
  return ResultAsync.fromSafePromise(run(deps, input));
}

/** An error that belongs to another stage than the one running (an upload failing inside the dump). */
class StageFailure extends Error {
  constructor(
    readonly stage: StageName,
    message: string,
  ) {
    super(message);
  }
}

async function run(deps: NightlyDeps, input: NightlyInput): Promise<RunReport> {
  const now = deps.now ?? (() => new Date());
  const report: RunReport = { ok: false, location: deps.store.location, startedAt: now().toISOString(), finishedAt: "", source: "", stages: [] };
  const record = (s: StageReport) => {
    report.stages.push(s);
    deps.onStage?.(s);
  };
  const stage = async <T>(name: StageName, work: () => Promise<T>, detail?: (t: T) => string): Promise<T | undefined> => {
    const t0 = performance.now();
    try {
      const value = await work();
      record({ stage: name, status: "ok", durationMs: Math.round(performance.now() - t0), ...(detail ? { detail: detail(value) } : {}) });
      return value;
    } catch (e) {
      const failed = e instanceof StageFailure ? e.stage : name;
      const message = causeMessage(e);
      record({ stage: failed, status: "failed", durationMs: Math.round(performance.now() - t0), detail: message });
      report.failedStage ??= failed;
      report.error ??= `${failed}: ${message}`;
      return undefined;
    }
  };
  const skip = (name: StageName, why: string) => record({ stage: name, status: "skipped", durationMs: 0, detail: why });

  // Restoring a snapshot is a stage of its own; opening a URL source belongs to the dump.
  const source = deps.sourceIsSnapshot
    ? await stage("snapshot", () => deps.openSource(), (s) => `${s.describe.snapshotId} restored to a temporary instance`)
    : await deps.openSource().catch(async (e) => stage("dump", () => Promise.reject(e)));
  let dumpedId: string | undefined;
  let sourceMajor = 0;
  if (source) {
    report.source = source.describe.instance ?? `${source.describe.host}:${source.describe.port}/${source.describe.database}`;
    const dumped = await stage(
      "dump",
      async () => {
        const r = await streamDump(
          { connect: source.connect, store: deps.store, tool: deps.tool, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}) },
          { jobs: input.jobs, compression: input.compression, source: source.describe, ...(input.encryption ? { encryption: input.encryption } : {}), ...(input.lockUntil ? { lockUntil: input.lockUntil } : {}) },
        );
        // The upload streams inside the dump: a storage failure is the upload stage's.
        if (r.isErr()) throw new StageFailure(r.error._tag === "StoreFailed" ? "upload" : "dump", r.error.message);
        return r.value;
      },
      (d) => `${d.id}: ${d.manifest.totals.tables} tables, ${d.manifest.totals.rows} rows, ${d.manifest.totals.storedBytes} bytes stored`,
    );
    // The temporary instance is not needed for verification: delete it as soon as the dump ends.
    if (deps.sourceIsSnapshot) await stage("cleanup", () => source.close(), () => "temporary instance deleted");
    else await source.close().catch(() => {});
    if (dumped) {
      dumpedId = dumped.id;
      sourceMajor = Math.floor(dumped.manifest.source.serverVersionNum / 10000);
      report.id = dumped.id;
      report.totals = dumped.manifest.totals;
    }
  }

  if (dumpedId && !input.verify) skip("verify", "disabled in the configuration");
  if (dumpedId && input.verify) {
    const id = dumpedId;
    let scratch: Scratch | undefined;
    const verdict = await stage(
      "verify",
      async () => {
        scratch = await deps.openScratch(sourceMajor);
        const r = await verifyRestore({ connect: scratch.connect, store: deps.store, ...(input.decryption ? { decryption: input.decryption } : {}) }, { id, jobs: input.jobs, targetName: scratch.name, toolVersion: deps.tool.version });
        if (r.isErr()) throw new Error(r.error.message);
        const differences = r.value.tables.filter((t) => !t.ok).length + r.value.inventory.length + r.value.sequences.length + r.value.matviews.length + (r.value.largeObjects.ok ? 0 : 1);
        report.verification = { ok: r.value.ok, tables: r.value.tables.length, differences };
        if (!r.value.ok) throw new Error(`the restored copy differs from the manifest in ${differences} place(s)`);
        const rec = await recordVerification({ store: deps.store }, r.value, now());
        if (rec.isErr()) throw new Error(rec.error.message);
        return r.value;
      },
      (v: VerifyReport) => `restored into ${v.target} and compared: ${v.tables.length} tables identical`,
    );
    if (deps.runHook) {
      if (verdict && scratch) await stage("hook", async () => (await deps.runHook!(scratch!)) ?? "ran against the scratch copy");
      else skip("hook", "verification did not pass");
    }
    await scratch?.dispose().catch(() => {});
  }

  if (input.retention) {
    if (report.failedStage === undefined && dumpedId) {
      await stage(
        "retention",
        async () => {
          const r = await pruneBackups({ store: deps.store, now }, { policy: input.retention!, dryRun: false });
          if (r.isErr()) throw new Error(r.error.message);
          report.retention = { removed: r.value.decisions.filter((d) => d.action === "remove").map((d) => d.id), kept: r.value.decisions.filter((d) => d.action !== "remove").length };
          return report.retention;
        },
        (r) => `${r.removed.length} removed, ${r.kept} kept`,
      );
    } else skip("retention", "not applied after a failed stage");
  }

  report.ok = report.failedStage === undefined;
  report.finishedAt = now().toISOString();
  // The report lives next to the backup it describes, written after its manifest.
  if (report.id) await deps.store.put(`${backupPrefix(report.id)}report.json`, readableOf(JSON.stringify(report, null, 2)));
  return report;
}
