import { Failure, findResumableBackup, newBackupId, type BackupStore, type OpenedSource } from "@cobalt-backup/core";
import { restoreSnapshot } from "@cobalt-backup/core/rds";
import { awsClients, temporaryInstanceConnect } from "../adapters/aws-clients.js";
import { awsSettingsOf } from "../adapters/from-config.js";
import { errorText } from "../error-hints.js";
import type { Config } from "../config/config-schema.js";
import { UsageError } from "../usage-error.js";
import type { Output } from "../output.js";

/** This runner's public IP, as AWS sees it, for openIngress without a CIDR. */
async function publicIp(): Promise<string> {
  try {
    const r = await fetch("https://checkip.amazonaws.com", { signal: AbortSignal.timeout(10_000) });
    const ip = (await r.text()).trim();
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return ip;
    throw new Error(`unexpected answer ${ip.slice(0, 40)}`);
  } catch (e) {
    throw new UsageError(`open ingress: cannot find this host's public IP (${e instanceof Error ? e.message : e}); give it as <sg>=<ip>/32`);
  }
}

/**
 * The `snapshot` stage of `run` and of `backup --rds-instance`: restores the snapshot to a
 * temporary instance whose `close` deletes it. When `signal` aborts while it restores,
 * restoreSnapshot deletes the instance itself; once it is open, the caller's stages stop and
 * `close` deletes it. Either way the instance is gone before the process exits.
 */
export async function openRdsSource(out: Output, src: Config["source"], signal: AbortSignal, store: BackupStore): Promise<OpenedSource> {
  const { rds, ec2 } = awsClients(awsSettingsOf(src));
  const [securityGroupId, givenCidr] = (src.openIngress ?? "").split("=");
  const cidr = securityGroupId && !givenCidr ? `${await publicIp()}/32` : givenCidr;
  const existingPassword = src.masterPasswordEnv ? process.env[src.masterPasswordEnv] : undefined;
  if (src.masterPasswordEnv && !existingPassword) throw new UsageError(`master password variable ${src.masterPasswordEnv} is empty or unset`);
  const announce = () => out.event("signal", { action: "deleting the temporary instance before exiting" });
  signal.addEventListener("abort", announce, { once: true });
  const r = await restoreSnapshot(
    { rds, ec2, onProgress: (e) => out.event(`rds.${e.step.replace(/ /g, "-")}`, { ...e }) },
    {
      sourceInstance: src.rdsInstance!,
      snapshot: src.snapshot,
      waitMs: src.waitMinutes * 60_000,
      signal,
      ...(src.instanceClass ? { instanceClass: src.instanceClass } : {}),
      ...(src.tempInstance ? { instanceId: src.tempInstance } : {}),
      ...(src.subnetGroup ? { subnetGroup: src.subnetGroup } : {}),
      ...(src.securityGroupIds ? { securityGroupIds: src.securityGroupIds } : {}),
      ...(src.storageType ? { storageType: src.storageType } : {}),
      ...(securityGroupId && cidr ? { ingress: { securityGroupId, cidr } } : {}),
      ...(existingPassword ? { existingPassword } : {}),
      ...(process.env.COBALT_RDS_POLL_MS ? { pollIntervalMs: Number(process.env.COBALT_RDS_POLL_MS) } : {}),
      // An interrupted backup of the same snapshot is continued, on its instance when that is still there.
      backupFor: async ({ snapshotId, database }) => {
        const found = await findResumableBackup(store, { instance: src.rdsInstance!, snapshotId });
        return found ? { id: found, resume: true } : { id: newBackupId(src.database ?? database ?? "postgres", new Date()), resume: false };
      },
    },
  );
  if (r.isErr()) {
    signal.removeEventListener("abort", announce);
    throw new Failure({ _tag: r.error._tag, message: errorText(r.error) });
  }
  const instance = r.value;
  const database = src.database ?? instance.database ?? "postgres";
  out.event("rds.ready", { instance: instance.instanceId, snapshot: instance.snapshotId, snapshotTime: instance.snapshotTime.toISOString(), database, backup: instance.backup?.id, continuing: instance.backup?.resume ?? false, instanceReused: instance.resumed });
  return {
    consistency: "frozen",
    ...(instance.backup ? { backup: instance.backup } : {}),
    connect: temporaryInstanceConnect(instance, database, { tls: src.tls, ...(src.caBundle ? { rdsCaBundle: src.caBundle } : {}) }),
    describe: { kind: "rds-snapshot", host: instance.host, port: instance.port, database, user: instance.masterUsername, instance: src.rdsInstance!, snapshotId: instance.snapshotId },
    close: async () => {
      const released = await instance.release();
      signal.removeEventListener("abort", announce);
      // Whatever stopped the delete (a refused call, a timeout), the instance may still be running.
      if (released.isErr()) throw new Failure({ _tag: "CleanupFailed", message: errorText(released.error) });
    },
  };
}
