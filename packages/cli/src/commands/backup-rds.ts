import { streamDump, type DumpOutput } from "@cobalt-backup/core";
import { withRestoredSnapshot, type RestoreSnapshotInput } from "@cobalt-backup/core/rds";
import { awsClients, temporaryInstanceConnect } from "../adapters/aws-clients.js";
import type { AwsFlags } from "../adapters/aws-flags.js";
import { encryptionKeys } from "../adapters/age-keys.js";
import { UsageError } from "../adapters/postgres-url.js";
import { storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, bytes, count, type Output } from "../output.js";
import { TOOL } from "../version.js";
import { dumpProgress, peakRssBytes } from "./common.js";

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

/** This runner's public IP, as AWS sees it, for --open-ingress without a CIDR. */
async function publicIp(): Promise<string> {
  try {
    const r = await fetch("https://checkip.amazonaws.com", { signal: AbortSignal.timeout(10_000) });
    const ip = (await r.text()).trim();
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return ip;
    throw new Error(`unexpected answer ${ip.slice(0, 40)}`);
  } catch (e) {
    throw new UsageError(`--open-ingress: cannot find this host's public IP (${e instanceof Error ? e.message : e}); give it as --open-ingress <sg>=<ip>/32`);
  }
}

/**
 * `backup --rds-instance`: newest (or named) snapshot -> temporary instance -> dump -> delete.
 * SIGINT and SIGTERM delete the temporary instance before the process exits.
 */
export async function backupFromRds(out: Output, o: RdsBackupOptions): Promise<void> {
  const store = await storeFromUrl(o.dest, "--dest", o);
  const encryption = encryptionKeys(o);
  const { rds, ec2 } = awsClients(o);
  const [securityGroupId, givenCidr] = (o.openIngress ?? "").split("=");
  const cidr = securityGroupId && !givenCidr ? `${await publicIp()}/32` : givenCidr;
  const existingPassword = o.masterPasswordEnv ? process.env[o.masterPasswordEnv] : undefined;
  if (o.masterPasswordEnv && !existingPassword) throw new UsageError(`--master-password-env ${o.masterPasswordEnv}: that environment variable is empty or unset`);
  const input: RestoreSnapshotInput = {
    sourceInstance: o.rdsInstance,
    snapshot: o.snapshot,
    waitMs: o.waitMinutes * 60_000,
    ...(o.instanceClass ? { instanceClass: o.instanceClass } : {}),
    ...(o.tempInstance ? { instanceId: o.tempInstance } : {}),
    ...(o.subnetGroup ? { subnetGroup: o.subnetGroup } : {}),
    ...(o.storageType ? { storageType: o.storageType } : {}),
    ...(existingPassword ? { existingPassword } : {}),
    ...(o.securityGroupIds ? { securityGroupIds: o.securityGroupIds.split(",") } : {}),
    ...(securityGroupId && cidr ? { ingress: { securityGroupId, cidr } } : {}),
    ...(process.env.COBALT_RDS_POLL_MS ? { pollIntervalMs: Number(process.env.COBALT_RDS_POLL_MS) } : {}),
  };
  const interrupt = new AbortController();
  input.signal = interrupt.signal;
  let release: (() => Promise<unknown>) | undefined;
  let operation: Promise<unknown> = Promise.resolve();
  // While restoring, aborting makes restoreSnapshot delete the instance itself; once the dump
  // runs on it, deleting it directly also ends the dump. Either way: exit after the delete.
  const onSignal = (signal: NodeJS.Signals) => {
    out.event("signal", { signal, action: "deleting the temporary instance before exiting" });
    interrupt.abort();
    void (release ? release() : operation).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  out.event("backup.start", { rdsInstance: o.rdsInstance, snapshot: o.snapshot, dest: store.location, encrypted: Boolean(encryption) });
  const pending = withRestoredSnapshot({ rds, ec2, onProgress: (e) => out.event(`rds.${e.step.replace(/ /g, "-")}`, { ...e }) }, input, (instance) => {
    release = async () => instance.release();
    const database = o.database ?? instance.database ?? "postgres";
    out.event("rds.ready", { instance: instance.instanceId, snapshot: instance.snapshotId, snapshotTime: instance.snapshotTime.toISOString(), database });
    return streamDump(
      { connect: temporaryInstanceConnect(instance, database, o), store, tool: TOOL, onProgress: dumpProgress(out, `backup ${o.rdsInstance}`) },
      {
        jobs: o.jobs,
        compression: o.compression,
        ...(encryption ? { encryption } : {}),
        ...(o.lockUntil ? { lockUntil: o.lockUntil } : {}),
        source: { kind: "rds-snapshot", host: instance.host, port: instance.port, database, user: instance.masterUsername, instance: o.rdsInstance, snapshotId: instance.snapshotId },
      },
    );
  });
  operation = Promise.resolve(pending).catch(() => {});
  const result = await pending;
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  if (result.isErr()) return out.fail(`backup failed: ${result.error.message}`, EXIT.failed, { tag: result.error._tag });
  const { id, manifest: m } = result.value as DumpOutput;
  out.result(
    { id, location: store.location, snapshot: m.source.snapshotId, tables: m.totals.tables, rows: m.totals.rows, rawBytes: m.totals.rawBytes, storedBytes: m.totals.storedBytes, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes() },
    `backup ${id} of ${o.rdsInstance} (snapshot ${m.source.snapshotId}) complete: ${m.totals.tables} tables, ${count(m.totals.rows)} rows, ${bytes(m.totals.storedBytes)} stored; temporary instance deleted`,
  );
}
