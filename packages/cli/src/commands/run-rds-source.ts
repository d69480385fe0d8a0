import type { OpenedSource } from "@cobalt-backup/core";
import { restoreSnapshot } from "@cobalt-backup/core/rds";
import { awsClients, temporaryInstanceConnect } from "../adapters/aws-clients.js";
import type { Config } from "../config/config-schema.js";
import type { Output } from "../output.js";

/**
 * The `snapshot` stage of `run`: restores the snapshot to a temporary instance whose `close`
 * deletes it. SIGINT/SIGTERM delete it too before the process exits.
 */
export async function openRdsSource(out: Output, src: Config["source"]): Promise<OpenedSource> {
  const { rds, ec2 } = awsClients({ ...(src.region ? { rdsRegion: src.region } : {}), ...(src.profile ? { rdsProfile: src.profile } : {}), ...(src.endpoint ? { rdsEndpoint: src.endpoint } : {}) });
  const [securityGroupId, cidr] = (src.openIngress ?? "").split("=");
  const interrupt = new AbortController();
  let release: (() => Promise<unknown>) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    out.event("signal", { signal, action: "deleting the temporary instance before exiting" });
    interrupt.abort();
    void (release?.() ?? new Promise((r) => setTimeout(r, 10_000))).finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const existingPassword = src.masterPasswordEnv ? process.env[src.masterPasswordEnv] : undefined;
  const r = await restoreSnapshot(
    { rds, ec2, onProgress: (e) => out.event(`rds.${e.step.replace(/ /g, "-")}`, { ...e }) },
    {
      sourceInstance: src.rdsInstance!,
      snapshot: src.snapshot,
      waitMs: src.waitMinutes * 60_000,
      signal: interrupt.signal,
      ...(src.instanceClass ? { instanceClass: src.instanceClass } : {}),
      ...(src.tempInstance ? { instanceId: src.tempInstance } : {}),
      ...(src.subnetGroup ? { subnetGroup: src.subnetGroup } : {}),
      ...(src.securityGroupIds ? { securityGroupIds: src.securityGroupIds } : {}),
      ...(src.storageType ? { storageType: src.storageType } : {}),
      ...(securityGroupId && cidr ? { ingress: { securityGroupId, cidr } } : {}),
      ...(existingPassword ? { existingPassword } : {}),
      ...(process.env.COBALT_RDS_POLL_MS ? { pollIntervalMs: Number(process.env.COBALT_RDS_POLL_MS) } : {}),
    },
  );
  if (r.isErr()) {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    throw new Error(r.error.message);
  }
  const instance = r.value;
  release = async () => instance.release();
  const database = src.database ?? instance.database ?? "postgres";
  return {
    connect: temporaryInstanceConnect(instance, database, { tls: src.tls, ...(src.caBundle ? { rdsCaBundle: src.caBundle } : {}) }),
    describe: { kind: "rds-snapshot", host: instance.host, port: instance.port, database, user: instance.masterUsername, instance: src.rdsInstance!, snapshotId: instance.snapshotId },
    close: async () => {
      const released = await instance.release();
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      if (released.isErr()) throw new Error(released.error.message);
    },
  };
}
