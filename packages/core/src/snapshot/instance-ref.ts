import type { RDSClient } from "@aws-sdk/client-rds";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Clock } from "./poll.js";

/** Tags that mark an instance as this tool's temporary one; `cleanup` trusts nothing else. */
export const TAG = {
  temporary: "cobalt-backup:temporary",
  source: "cobalt-backup:source",
  snapshot: "cobalt-backup:snapshot",
  created: "cobalt-backup:created",
  expires: "cobalt-backup:expires",
  /** The backup id the instance serves: a later run with the same id finds and resumes it. */
  backupId: "cobalt-backup:backup-id",
  /** The Step Functions execution using it: the failure rule deletes what an aborted execution left. */
  execution: "cobalt-backup:execution",
} as const;

export interface SnapshotDeps {
  /** RDS control plane (`DescribeDBInstances`, `RestoreDBInstanceFromDBSnapshot`, ...). */
  rds: Pick<RDSClient, "send">;
  /** EC2, only for opening the security group to this runner. */
  ec2?: Pick<EC2Client, "send">;
  /** Secrets Manager, where the temporary instance's password is kept between steps (and deleted with it). */
  secrets?: Pick<SecretsManagerClient, "send">;
  clock?: Clock;
  /** A fresh master password for the temporary instance (default: 32 random characters). */
  newPassword?: () => string;
  onProgress?: (e: { step: string; instance?: string; status?: string; detail?: string }) => void;
}

/** The snapshot a run restores, as plain JSON (what `findSnapshot` returns). */
export interface SnapshotRef {
  sourceInstance: string;
  snapshotId: string;
  /** ISO time the snapshot was taken. */
  snapshotTime: string;
  engineVersion?: string;
  /** The source's subnet group and security groups: the temporary instance's defaults. */
  subnetGroup?: string;
  securityGroupIds?: string[];
  masterUsername?: string;
  /** The database the source was created with (DBName), when RDS reports one. */
  database?: string;
}

/** `available` (ready for use), `working` (creating, modifying, a change pending: poll again), `failed` (it never will be). */
export type InstancePhase = "available" | "working" | "failed";

/**
 * A temporary instance, as plain JSON a state machine passes between steps: ids, endpoint and the
 * name of the secret holding its password. Never the password itself.
 */
export interface InstanceRef {
  instanceId: string;
  sourceInstance: string;
  snapshotId: string;
  backupId?: string;
  /** True when `startRestore` found this backup's instance already there (a resumed run). */
  resumed?: boolean;
  /** RDS status at the last describe, and what it means. */
  status?: string;
  phase?: InstancePhase;
  host?: string;
  port?: number;
  username?: string;
  database?: string;
  engineVersion?: string;
  /** The Secrets Manager secret with the master password `prepareInstance` set. */
  secretId?: string;
}

/** Statuses from which an instance never becomes available by itself. */
export const FAILED_STATUSES = new Set([
  "failed",
  "incompatible-restore",
  "incompatible-parameters",
  "incompatible-network",
  "incompatible-option-group",
  "incompatible-credentials",
  "inaccessible-encryption-credentials",
  "inaccessible-encryption-credentials-recoverable",
  "restore-error",
  "storage-full",
  "stopped",
  "stopping",
  "deleting",
  "not-found",
]);

/**
 * The temporary instance's name for a backup: `cobalt-tmp-<source>-<time>`, a valid RDS identifier
 * (a letter first, letters, digits and single hyphens, at most 63 characters) that every step and
 * the failure rule can derive from the backup id alone.
 */
export function temporaryInstanceId(backupId: string): string {
  const [source = "db", time = ""] = backupId.split("/");
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  const stamp = clean(time).replace(/-/g, "");
  const room = 63 - "cobalt-tmp-".length - (stamp ? stamp.length + 1 : 0);
  const name = clean(source).slice(0, room).replace(/-+$/, "") || "db";
  return `cobalt-tmp-${name}${stamp ? `-${stamp}` : ""}`;
}

/** The Secrets Manager name of a temporary instance's password. */
export const temporarySecretName = (instanceId: string): string => `cobalt-backup/${instanceId}`;
