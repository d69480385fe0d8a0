#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import {
  awsSettingsOf,
  errorText,
  findResumableBackup,
  newBackupId
} from "./chunk-J6VRHHMT.js";
import "./chunk-RSPZTCWW.js";
import {
  restoreSnapshot
} from "./chunk-XNDLWKJJ.js";
import {
  Failure
} from "./chunk-SZRQ5ROZ.js";
import {
  awsClients,
  temporaryInstanceConnect
} from "./chunk-LAEXPQBW.js";
import {
  UsageError
} from "./chunk-5SOUXTRF.js";
import "./chunk-IOUMZER7.js";

// src/sources/rds-source.ts
async function publicIp() {
  try {
    const r = await fetch("https://checkip.amazonaws.com", { signal: AbortSignal.timeout(1e4) });
    const ip = (await r.text()).trim();
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return ip;
    throw new Error(`unexpected answer ${ip.slice(0, 40)}`);
  } catch (e) {
    throw new UsageError(`open ingress: cannot find this host's public IP (${e instanceof Error ? e.message : e}); give it as <sg>=<ip>/32`);
  }
}
async function openRdsSource(out, src, signal, store) {
  const { rds, ec2 } = awsClients(awsSettingsOf(src));
  const [securityGroupId, givenCidr] = (src.openIngress ?? "").split("=");
  const cidr = securityGroupId && !givenCidr ? `${await publicIp()}/32` : givenCidr;
  const existingPassword = src.masterPasswordEnv ? process.env[src.masterPasswordEnv] : void 0;
  if (src.masterPasswordEnv && !existingPassword) throw new UsageError(`master password variable ${src.masterPasswordEnv} is empty or unset`);
  const announce = () => out.event("signal", { action: "deleting the temporary instance before exiting" });
  signal.addEventListener("abort", announce, { once: true });
  const r = await restoreSnapshot(
    { rds, ec2, onProgress: (e) => out.event(`rds.${e.step.replace(/ /g, "-")}`, { ...e }) },
    {
      sourceInstance: src.rdsInstance,
      snapshot: src.snapshot,
      waitMs: src.waitMinutes * 6e4,
      signal,
      ...src.instanceClass ? { instanceClass: src.instanceClass } : {},
      ...src.tempInstance ? { instanceId: src.tempInstance } : {},
      ...src.subnetGroup ? { subnetGroup: src.subnetGroup } : {},
      ...src.securityGroupIds ? { securityGroupIds: src.securityGroupIds } : {},
      ...src.storageType ? { storageType: src.storageType } : {},
      ...securityGroupId && cidr ? { ingress: { securityGroupId, cidr } } : {},
      ...existingPassword ? { existingPassword } : {},
      ...process.env.COBALT_RDS_POLL_MS ? { pollIntervalMs: Number(process.env.COBALT_RDS_POLL_MS) } : {},
      // An interrupted backup of the same snapshot is continued, on its instance when that is still there.
      backupFor: async ({ snapshotId, database: database2 }) => {
        const found = await findResumableBackup(store, { instance: src.rdsInstance, snapshotId });
        return found ? { id: found, resume: true } : { id: newBackupId(src.database ?? database2 ?? "postgres", /* @__PURE__ */ new Date()), resume: false };
      }
    }
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
    ...instance.backup ? { backup: instance.backup } : {},
    connect: temporaryInstanceConnect(instance, database, { tls: src.tls, ...src.caBundle ? { rdsCaBundle: src.caBundle } : {} }),
    describe: { kind: "rds-snapshot", host: instance.host, port: instance.port, database, user: instance.masterUsername, instance: src.rdsInstance, snapshotId: instance.snapshotId },
    close: async () => {
      const released = await instance.release();
      signal.removeEventListener("abort", announce);
      if (released.isErr()) throw new Failure({ _tag: "CleanupFailed", message: errorText(released.error) });
    }
  };
}
export {
  openRdsSource
};
//# sourceMappingURL=rds-source-HN53PIN2.js.map