import { causeMessage, streamDump, tagOf } from "@cobalt-backup/core";
import type { AwsFlags } from "../adapters/aws-flags.js";
import { encryptionKeys } from "../adapters/age-keys.js";
import { UsageError } from "../usage-error.js";
import { storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, bytes, count, type Output } from "../output.js";
import { TOOL } from "../version.js";
import { dumpProgress, peakRssBytes } from "./common.js";
import { openRdsSource } from "./run-rds-source.js";

export interface RdsBackupOptions extends AwsFlags, StoreFlags {
  rdsInstance: string;
  snapshot: string;
  database?: string;
  instanceClass?: string;
  tempInstance?: string;
  subnetGroup?: string;
  securityGroupIds?: string;
  openIngress?: string;
  storageType?: string;
  masterPasswordEnv?: string;
  waitMinutes: number;
  dest: string;
  jobs: number;
  compression: "zstd" | "gzip" | "none";
  recipient?: string[];
  recipientsFile?: string;
  passphraseEnv?: string;
  lockUntil?: Date;
}

/**
 * `backup --rds-instance`: the same snapshot stage as `run` (newest or named snapshot ->
 * temporary instance, deleted on success, error and SIGINT/SIGTERM), then the dump.
 */
export async function backupFromRds(out: Output, o: RdsBackupOptions, signal: AbortSignal): Promise<void> {
  const store = await storeFromUrl(o.dest, "--dest", o);
  const encryption = encryptionKeys(o);
  out.event("backup.start", { rdsInstance: o.rdsInstance, snapshot: o.snapshot, dest: store.location, encrypted: Boolean(encryption) });
  let source;
  try {
    source = await openRdsSource(out, {
      rdsInstance: o.rdsInstance,
      snapshot: o.snapshot,
      waitMinutes: o.waitMinutes,
      tls: o.rdsCaBundle ? "verify" : (o.tls ?? "require"),
      ...(o.database ? { database: o.database } : {}),
      ...(o.instanceClass ? { instanceClass: o.instanceClass } : {}),
      ...(o.tempInstance ? { tempInstance: o.tempInstance } : {}),
      ...(o.subnetGroup ? { subnetGroup: o.subnetGroup } : {}),
      ...(o.securityGroupIds ? { securityGroupIds: o.securityGroupIds.split(",") } : {}),
      ...(o.storageType ? { storageType: o.storageType } : {}),
      ...(o.openIngress ? { openIngress: o.openIngress } : {}),
      ...(o.masterPasswordEnv ? { masterPasswordEnv: o.masterPasswordEnv } : {}),
      ...(o.rdsRegion ? { region: o.rdsRegion } : {}),
      ...(o.rdsProfile ? { profile: o.rdsProfile } : {}),
      ...(o.rdsEndpoint ? { endpoint: o.rdsEndpoint } : {}),
      ...(o.rdsCaBundle ? { caBundle: o.rdsCaBundle } : {}),
    }, signal);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return out.failWith({ _tag: tagOf(e), message: causeMessage(e) }, "backup failed");
  }
  const result = await streamDump(
    { connect: source.connect, store, tool: TOOL, onProgress: dumpProgress(out, `backup ${o.rdsInstance}`), signal },
    { jobs: o.jobs, compression: o.compression, source: source.describe, ...(encryption ? { encryption } : {}), ...(o.lockUntil ? { lockUntil: o.lockUntil } : {}) },
  );
  const closed = await source.close().then(() => undefined, (e: Error) => e);
  // An instance left running outranks what failed before: it is billed until someone acts.
  if (closed) return out.fail(`${result.isOk() ? `backup ${result.value.id} is complete, but ` : `backup failed (${result.error.message}), and `}${closed.message}`, EXIT.instanceLeft, { tag: "CleanupFailed" });
  if (result.isErr()) return out.failWith(result.error, "backup failed");
  const { id, manifest: m } = result.value;
  out.result(
    { id, location: store.location, snapshot: m.source.snapshotId, tables: m.totals.tables, rows: m.totals.rows, rawBytes: m.totals.rawBytes, storedBytes: m.totals.storedBytes, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes() },
    `backup ${id} of ${o.rdsInstance} (snapshot ${m.source.snapshotId}) complete: ${m.totals.tables} tables, ${count(m.totals.rows)} rows, ${bytes(m.totals.storedBytes)} stored; temporary instance deleted`,
  );
}
