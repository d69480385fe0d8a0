import { failureKind, tagOf } from "../failure-kind.js";
import type { Delivery } from "./deliver-notifications.js";
import type { PgConnect } from "../pg/session.js";
import { Failure, ResultAsync, type TaggedError } from "../result.js";
import { pruneBackups } from "../retention/prune.js";
import type { RetentionPolicy } from "../retention/policy.js";
import { backupPrefix, newBackupId } from "../object/backup-id.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { readableOf } from "../util/readable.js";
import { streamDump, type DumpInput, type DumpProgress } from "../dump/stream-dump.js";
import type { EncryptionKeys, DecryptionKeys } from "../object/encryption.js";
import type { Compression } from "../object/compression.js";
import type { RestoreProgress } from "../restore/restore-backup.js";
import { checkBackups, describeReadData, type ReadData } from "../check/check-backups.js";
import { damageSummary, dueForCheck, recordChecks } from "../check/record-check.js";
import { differencesOf, recordFailedVerification, recordVerification, restoreSpaceNeeded, verifyRestore, type VerifyReport } from "../verify/verify-restore.js";

/** The stages of a nightly run, in order; a report and a notification name the one that failed. `setup`: building the clients from the configuration. */
export type StageName = "setup" | "snapshot" | "dump" | "upload" | "cleanup" | "verify" | "hook" | "retention" | "check";

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
  /**
   * What kind of failure the first one was (`SourceConnectFailed`, `VerifyMismatch`,
   * `Unexpected`, ...), a store's own tag under `StoreFailed`: what exit codes are chosen by.
   */
  errorTag?: string;
  /** The first failure as the failing stage's error said it: its own `_tag`, and whether trying again may help. */
  failure?: RunFailure;
  id?: string;
  location: string;
  startedAt: string;
  finishedAt: string;
  source: string;
  stages: StageReport[];
  totals?: { tables: number; rows: number; rawBytes: number; storedBytes: number };
  verification?: { ok: boolean; tables: number; differences: number };
  retention?: { removed: string[]; kept: number };
  /** The older backups checked, and the damaged ones with what is wrong with each object. */
  check?: { depth: string; checked: string[]; damaged: { id: string; damage: { key: string; problem: string; message: string }[] }[] };
}

/** The error a stage failed with, kept as data (`retryable` is false when the error does not say). */
export interface RunFailure {
  stage: StageName;
  _tag: string;
  message: string;
  retryable: boolean;
}

/** A run's report, where it was stored, and what the notifications did. */
export interface RunOutcome {
  report: RunReport;
  /** The key of `report.json` in the store, once written. */
  reportKey?: string;
  /** Why the report could not be stored (the store is out of reach, say). */
  reportError?: string;
  notifications: Delivery[];
}

/** An opened source: a URL, or a temporary instance restored from a snapshot. */
export interface OpenedSource {
  connect: PgConnect;
  describe: DumpInput["source"];
  /** `frozen` for a temporary instance restored from a snapshot (nothing writes to it); default `live`. */
  consistency?: "live" | "frozen";
  /** The backup this source serves: a new one under this id, or an interrupted one to continue. */
  backup?: { id: string; resume: boolean };
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

/** What verification needs of its scratch server: a major at least the source's, and disk space. */
export interface ScratchNeeds {
  sourceMajor: number;
  /** About how many bytes the restore takes (`restoreSpaceNeeded`). */
  bytes: number;
}

/**
 * The ports of a run. The ones that reject (openSource, openScratch, runHook, close) may reject
 * with a `Failure` (see result.ts) to say what kind of failure it was;
 * anything else they throw counts as `Unexpected`, and still ends in a report and a notification.
 */
export interface NightlyDeps {
  store: BackupStore;
  tool: { name: string; version: string };
  /** Opens the source; the `snapshot` stage when it restores an RDS snapshot. */
  openSource(): Promise<OpenedSource>;
  /** Whether openSource restores a snapshot (for the report's stage list). */
  sourceIsSnapshot: boolean;
  openScratch(needs: ScratchNeeds): Promise<Scratch>;
  /** Runs the post-restore hook against the verified scratch copy, never the source. */
  runHook?: (scratch: Scratch) => Promise<string | void>;
  /** Sends the report (webhook, email, heartbeat); called once, after the report is stored, on success and on failure. */
  notify?: (report: RunReport) => Promise<Delivery[]>;
  /**
   * Stops the run: the stage under way fails with the signal's reason (a tagged reason names the
   * kind, else `Unexpected`), the temporary instance is still deleted, the report still stored
   * and sent. Abort it on SIGINT/SIGTERM, and on a crash elsewhere in the process.
   */
  signal?: AbortSignal;
  /** How long a stage may take to clean up after the signal before the run moves on (default 60 s). */
  abortGraceMs?: number;
  now?: () => Date;
  onProgress?: (p: DumpProgress) => void;
  onVerifyProgress?: (p: RestoreProgress) => void;
  onStage?: (s: StageReport) => void;
}

export interface NightlyInput {
  jobs: number;
  compression: Compression;
  encryption?: EncryptionKeys;
  decryption?: DecryptionKeys;
  lockUntil?: Date;
  /** Tables larger than this many bytes are dumped in chunks (default: from jobs and sizes). */
  splitLargerThan?: number;
  verify: boolean;
  retention?: RetentionPolicy;
  /**
   * Checks older backups after retention (see `checkBackups`): at most `backups` per run, each once
   * its last check is `everyDays` old, so a deleted or rotten object is found while a good copy
   * still exists. Damage fails the run (`DamageFound`); the backup just made is not among them.
   */
  check?: { backups: number; everyDays: number; readData: ReadData };
}

/**
 * The nightly job as one composition of the stages: open the source (snapshot -> temporary
 * instance), dump and upload, close the source (delete the instance), verify by restoring into a
 * scratch database, run the post-restore hook there, apply retention; then store the report and
 * notify. Always resolves: a failure of any stage, an exception thrown by any port, or the signal
 * ends in a report with `ok: false` naming the stage, stored and sent; what was opened is closed.
 */
export function runNightly(deps: NightlyDeps, input: NightlyInput): ResultAsync<RunOutcome, never> {
  return ResultAsync.fromSafePromise(run(deps, input));
}

/**
 * The outcome of a run that could not start: building its clients from the configuration failed
 * (`setup`). The report is sent, so a broken configuration alerts like any other failure.
 */
export function reportSetupFailure(deps: Pick<NightlyDeps, "notify" | "now">, failure: { error: unknown; location: string }): ResultAsync<RunOutcome, never> {
  return ResultAsync.fromSafePromise(
    (async () => {
      const at = (deps.now ?? (() => new Date()))().toISOString();
      const message = causeMessage(failure.error);
      const report: RunReport = {
        ok: false,
        failedStage: "setup",
        error: `setup: ${message}`,
        errorTag: tagOf(failure.error),
        failure: failureOf("setup", failure.error, message),
        location: failure.location,
        startedAt: at,
        finishedAt: at,
        source: "",
        stages: [{ stage: "setup", status: "failed", durationMs: 0, detail: message }],
      };
      return { report, reportError: "not stored: the run did not get as far as opening the store", notifications: await send(deps, report) };
    })(),
  );
}

/** What a stage failed with, as data: a Failure's error, a port's tagged rejection, else `Unexpected`. */
function failureOf(stage: StageName, e: unknown, message: string): RunFailure {
  const own = (e instanceof Failure ? e.error : e) as { _tag?: unknown; retryable?: unknown; storeError?: { retryable?: unknown } } | null;
  const retryable = typeof own?.retryable === "boolean" ? own.retryable : own?.storeError?.retryable === true;
  return { stage, _tag: typeof own?._tag === "string" ? own._tag : "Unexpected", message, retryable };
}

/**
 * `work`, unless `signal` fires first: then the stage fails with the signal's reason, once `work`
 * has settled (it cleans up after itself: uploads aborted, objects deleted) or after `graceMs`,
 * whichever comes first (a crash elsewhere may have left `work` hanging).
 */
async function bounded<T>(work: Promise<T>, signal: AbortSignal | undefined, graceMs: number): Promise<T> {
  if (!signal) return work;
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      const timer = setTimeout(() => reject(signal.reason), graceMs);
      void work.then(
        () => {},
        () => {},
      ).finally(() => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    };
  });
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    const value = await Promise.race([work, aborted]);
    if (signal.aborted) throw signal.reason;
    return value;
  } catch (e) {
    throw signal.aborted ? signal.reason : e;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

async function send(deps: Pick<NightlyDeps, "notify">, report: RunReport): Promise<Delivery[]> {
  if (!deps.notify) return [];
  try {
    return await deps.notify(report);
  } catch (e) {
    return [{ channel: "notify", ok: false, detail: causeMessage(e) }];
  }
}

async function run(deps: NightlyDeps, input: NightlyInput): Promise<RunOutcome> {
  const now = deps.now ?? (() => new Date());
  const graceMs = deps.abortGraceMs ?? 60_000;
  const signal = deps.signal;
  const report: RunReport = { ok: false, location: deps.store.location, startedAt: now().toISOString(), finishedAt: "", source: "", stages: [] };
  const record = (s: StageReport) => {
    report.stages.push(s);
    try {
      deps.onStage?.(s);
    } catch {
      // Reporting a stage must never stop the run.
    }
  };
  /** Runs one stage; `attribute` names the stage an error of its work belongs to (an upload failing inside the dump). */
  const stage = async <T>(name: StageName, work: () => Promise<T>, detail?: (t: T) => string, attribute?: (e: TaggedError) => StageName): Promise<T | undefined> => {
    const t0 = performance.now();
    try {
      // The cleanup stage runs whatever happened: the temporary instance must not outlive the run.
      const value = name === "cleanup" ? await work() : await bounded(Promise.resolve().then(() => (signal?.throwIfAborted(), work())), signal, graceMs);
      record({ stage: name, status: "ok", durationMs: Math.round(performance.now() - t0), ...(detail ? { detail: detail(value) } : {}) });
      return value;
    } catch (e) {
      const failed = e instanceof Failure && attribute ? attribute(e.error) : name;
      // Anything thrown that is not tagged is said to be unexpected (a tagged reason says so itself).
      const untagged = typeof (e as { _tag?: unknown } | null)?._tag !== "string" && !(e instanceof Failure);
      const message = untagged ? `unexpected error: ${causeMessage(e)}` : causeMessage(e);
      record({ stage: failed, status: "failed", durationMs: Math.round(performance.now() - t0), detail: message });
      if (report.failedStage === undefined) {
        report.failedStage = failed;
        report.error = `${failed}: ${message}`;
        report.errorTag = tagOf(e);
        report.failure = failureOf(failed, e, message);
      }
      return undefined;
    }
  };
  const skip = (name: StageName, why: string): undefined => void record({ stage: name, status: "skipped", durationMs: 0, detail: why });

  // Restoring a snapshot is a stage of its own; opening a URL source belongs to the dump.
  let source: OpenedSource | undefined;
  if (deps.sourceIsSnapshot) await stage("snapshot", async () => (source = await deps.openSource()), (s) => `${s.describe.snapshotId} restored to a temporary instance`);
  else source = await deps.openSource().catch((e: unknown) => stage("dump", () => Promise.reject(e)).then(() => undefined));
  const failedEarlier = () => report.failedStage !== undefined;
  let dumpedId: string | undefined;
  let sourceMajor = 0;
  let spaceNeeded = 0;
  // A source opened just as the signal came is closed below all the same.
  if (source) {
    const opened: OpenedSource = source;
    report.source = opened.describe.instance ?? `${opened.describe.host}:${opened.describe.port}/${opened.describe.database}`;
    const dumped = failedEarlier() ? skip("dump", `not run after the failure at ${report.failedStage}`) : await stage(
      "dump",
      async () => {
        const r = await streamDump(
          { connect: opened.connect, store: deps.store, tool: deps.tool, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}), ...(signal ? { signal } : {}) },
          {
            jobs: input.jobs,
            compression: input.compression,
            source: opened.describe,
            consistency: opened.consistency ?? "live",
            ...(opened.backup ? (opened.backup.resume ? { resume: opened.backup.id } : { id: opened.backup.id }) : {}),
            ...(input.encryption ? { encryption: input.encryption } : {}),
            ...(input.lockUntil ? { lockUntil: input.lockUntil } : {}),
            ...(input.splitLargerThan ? { splitLargerThan: input.splitLargerThan } : {}),
          },
        );
        if (r.isErr()) throw new Failure(r.error);
        return r.value;
      },
      (d) => `${d.id}: ${d.manifest.totals.tables} tables, ${d.manifest.totals.rows} rows, ${d.manifest.totals.storedBytes} bytes stored, ${d.manifest.units.total} units${d.manifest.units.reused ? ` (${d.manifest.units.reused} done by an interrupted attempt, reused)` : ""}`,
      // The upload streams inside the dump: a storage failure is the upload stage's.
      (e) => (e._tag === "StoreFailed" ? "upload" : "dump"),
    );
    // The temporary instance is not needed for verification: delete it as soon as the dump ends.
    if (deps.sourceIsSnapshot) await stage("cleanup", () => opened.close(), () => "temporary instance deleted");
    else await opened.close().catch(() => {});
    if (dumped) {
      dumpedId = dumped.id;
      sourceMajor = Math.floor(dumped.manifest.source.serverVersionNum / 10000);
      spaceNeeded = restoreSpaceNeeded(dumped.manifest);
      report.id = dumped.id;
      report.totals = dumped.manifest.totals;
    }
  }

  // A backup was made: it is verified even when deleting the temporary instance failed.
  if (dumpedId && !input.verify) skip("verify", "disabled in the configuration");
  if (dumpedId && input.verify) {
    const id = dumpedId;
    let scratch: Scratch | undefined;
    const verdict = await stage(
      "verify",
      async () => {
        scratch = await deps.openScratch({ sourceMajor, bytes: spaceNeeded });
        const r = await verifyRestore(
          { connect: scratch.connect, store: deps.store, ...(input.decryption ? { decryption: input.decryption } : {}), ...(deps.onVerifyProgress ? { onProgress: deps.onVerifyProgress } : {}), ...(signal ? { signal } : {}) },
          { id, jobs: input.jobs, targetName: scratch.name, toolVersion: deps.tool.version },
        );
        if (r.isErr()) {
          // A corrupt or missing object proves the backup bad: recorded, so `list` shows it failed.
          // Recording it is best effort: the failure itself is what the report must say.
          if (failureKind(tagOf(r.error)) === "backup-defect") await recordFailedVerification({ store: deps.store }, id, scratch.name, r.error.message, now()).match(() => {}, () => {});
          throw new Failure(r.error);
        }
        const differences = differencesOf(r.value);
        report.verification = { ok: r.value.ok, tables: r.value.tables.length, differences };
        const rec = await recordVerification({ store: deps.store }, r.value, now());
        if (!r.value.ok) throw new Failure({ _tag: "VerifyMismatch", message: `the restored copy differs from the manifest in ${differences} place(s)` });
        if (rec.isErr()) throw new Failure(rec.error);
        return r.value;
      },
      (v: VerifyReport) => `restored into ${v.target} and compared: ${v.tables.length} tables identical`,
    );
    if (deps.runHook) {
      if (verdict && scratch) await stage("hook", async () => (await deps.runHook!(scratch!)) ?? "ran against the scratch copy");
      else skip("hook", "verification did not pass");
    }
    await (scratch as Scratch | undefined)?.dispose().catch(() => {});
  }

  if (input.retention) {
    if (!failedEarlier() && dumpedId) {
      await stage(
        "retention",
        async () => {
          const r = await pruneBackups({ store: deps.store, now }, { policy: input.retention!, dryRun: false });
          if (r.isErr()) throw new Failure(r.error);
          report.retention = { removed: r.value.decisions.filter((d) => d.action === "remove").map((d) => d.id), kept: r.value.decisions.filter((d) => d.action !== "remove").length };
          return report.retention;
        },
        (r) => `${r.removed.length} removed, ${r.kept} kept`,
      );
    } else skip("retention", "not applied after a failed stage");
  }

  // Older backups are checked whatever happened to today's: their damage is news either way.
  if (input.check && signal?.aborted) skip("check", "interrupted");
  else if (input.check) {
    const { backups, everyDays, readData } = input.check;
    await stage(
      "check",
      async () => {
        const listed = await deps.store.list("");
        if (listed.isErr()) throw new Failure({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
        const ids = dueForCheck(listed.value, { count: backups, everyDays, now: now(), ...(dumpedId ? { except: dumpedId } : {}) });
        const r = await checkBackups({ store: deps.store, jobs: input.jobs, ...(signal ? { signal } : {}) }, { backups: ids, readData });
        if (r.isErr()) throw new Failure(r.error);
        const damaged = r.value.backups.filter((b) => !b.ok).map((b) => ({ id: b.id, damage: b.damage }));
        report.check = { depth: describeReadData(readData), checked: ids, damaged };
        const recorded = await recordChecks(deps.store, r.value, now());
        if (!r.value.ok) throw new Failure({ _tag: "DamageFound", message: damageSummary(r.value) });
        if (recorded.isErr()) throw new Failure({ _tag: "StoreFailed", storeError: recorded.error, message: `checked, but recording it failed: ${recorded.error.message}` });
        return ids;
      },
      (ids) => (ids.length ? `${ids.length} older backup(s) whole (${describeReadData(readData)}): ${ids.join(", ")}` : `no older backup due (each is checked every ${everyDays} day(s))`),
    );
  }

  report.ok = report.failedStage === undefined;
  report.finishedAt = now().toISOString();
  // The report lives next to the backup it describes, written after its manifest; a run that made
  // no backup keeps its report under reports/.
  const reportKey = report.id ? `${backupPrefix(report.id)}report.json` : `reports/${newBackupId("run", new Date(report.startedAt)).slice("run/".length)}.json`;
  let stored: string | undefined;
  try {
    stored = await deps.store.put(reportKey, readableOf(JSON.stringify(report, null, 2))).match(
      () => undefined,
      (e) => e.message,
    );
  } catch (e) {
    stored = causeMessage(e);
  }
  const notifications = await send(deps, report);
  return { report, ...(stored === undefined ? { reportKey } : { reportError: stored }), notifications };
}
