/**
 * The temporary instance's lifecycle as separate steps over a plain-JSON `InstanceRef`, so that a
 * state machine can call each one (and wait between them) and a process can compose them
 * (`restoreSnapshot`). Every step is idempotent where a retry can repeat it.
 */
import {
  AddTagsToResourceCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type DBInstance,
  type Tag,
} from "@aws-sdk/client-rds";
import { DeleteSecretCommand } from "@aws-sdk/client-secrets-manager";
import { ResultAsync } from "../result.js";
import { asSnapshotError, awsError, call, fail, type SnapshotError } from "./errors.js";
import { describeDbInstance } from "./find-snapshot.js";
import { FAILED_STATUSES, TAG, temporarySecretName, type InstancePhase, type InstanceRef, type SnapshotDeps, type SnapshotRef } from "./instance-ref.js";
import { systemClock } from "./poll.js";

export interface StartRestoreInput {
  snapshot: SnapshotRef;
  /** The instance's name (default `cobalt-tmp-<source>`; the state machine uses `temporaryInstanceId(backupId)`). */
  instanceId?: string;
  /** Tagged on the instance: a later run with the same id resumes it instead of restoring again. */
  backupId?: string;
  /** The Step Functions execution using it, tagged so the failure rule can find it. */
  execution?: string;
  /**
   * Default db.t4g.medium: a restore from snapshot spends its time hydrating storage, which a
   * bigger class barely speeds up; the dump is bounded by the instance's network and CPU, so a
   * larger class (db.m6g.large) pays off only for databases of hundreds of GB.
   */
  instanceClass?: string;
  /** Default: the source's. */
  subnetGroup?: string;
  /** Default: the source's. */
  securityGroupIds?: string[];
  publiclyAccessible?: boolean;
  storageType?: string;
  /** `cleanupExpired` deletes the instance after this long even if the run died (default 12 hours). */
  expiresInMs?: number;
}

const tagOf = (i: DBInstance, key: string) => i.TagList?.find((t) => t.Key === key)?.Value;
const isOurs = (i: DBInstance) => tagOf(i, TAG.temporary) === "true";

/** The ref of an existing instance, from what RDS reports. */
function refOf(i: DBInstance, base: Omit<InstanceRef, "status" | "phase">): InstanceRef {
  const status = i.DBInstanceStatus ?? "unknown";
  const pending = i.PendingModifiedValues && Object.values(i.PendingModifiedValues).some((v) => v !== undefined && v !== null);
  const phase: InstancePhase = FAILED_STATUSES.has(status) ? "failed" : (status === "available" || status === "storage-optimization") && !pending ? "available" : "working";
  return {
    ...base,
    status,
    phase,
    ...(i.Endpoint?.Address ? { host: i.Endpoint.Address } : {}),
    ...(i.Endpoint?.Port ? { port: i.Endpoint.Port } : {}),
    ...(i.MasterUsername ? { username: i.MasterUsername } : {}),
    ...(i.DBName ? { database: i.DBName } : {}),
    ...(i.EngineVersion ? { engineVersion: i.EngineVersion } : {}),
  };
}

/**
 * Starts restoring the snapshot to a temporary instance: tagged as this tool's (with the backup
 * it serves, its expiry and execution), private, single-AZ, no deletion protection, no automated
 * backups. Returns at once (status `creating`); `describeInstance` tells when it is ready.
 * If this backup's instance exists already (a resumed run), it is returned as is, `resumed: true`.
 */
export function startRestore(deps: Pick<SnapshotDeps, "rds" | "clock" | "onProgress">, input: StartRestoreInput): ResultAsync<InstanceRef, SnapshotError> {
  return ResultAsync.fromPromise(start(deps, input), asSnapshotError("RestoreDBInstanceFromDBSnapshot"));
}

async function start(deps: Pick<SnapshotDeps, "rds" | "clock" | "onProgress">, input: StartRestoreInput): Promise<InstanceRef> {
  const clock = deps.clock ?? systemClock;
  const { snapshot } = input;
  const id = input.instanceId ?? `cobalt-tmp-${snapshot.sourceInstance}`.slice(0, 63);
  const base = { instanceId: id, sourceInstance: snapshot.sourceInstance, snapshotId: snapshot.snapshotId, ...(input.backupId ? { backupId: input.backupId } : {}) };

  const existing = input.backupId ? await call("DescribeDBInstances", () => describeDbInstance(deps, id)) : undefined;
  if (existing) return resume(deps, existing, input, base);

  const created = clock.now();
  const expires = new Date(created.getTime() + (input.expiresInMs ?? 12 * 3_600_000));
  const tags: Tag[] = [
    { Key: TAG.temporary, Value: "true" },
    { Key: TAG.source, Value: snapshot.sourceInstance },
    { Key: TAG.snapshot, Value: snapshot.snapshotId },
    { Key: TAG.created, Value: created.toISOString() },
    { Key: TAG.expires, Value: expires.toISOString() },
    ...(input.backupId ? [{ Key: TAG.backupId, Value: input.backupId }] : []),
    ...(input.execution ? [{ Key: TAG.execution, Value: input.execution }] : []),
  ];
  const instanceClass = input.instanceClass ?? "db.t4g.medium";
  deps.onProgress?.({ step: "restore", instance: id, detail: snapshot.snapshotId });
  try {
    const r = await deps.rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: id,
        DBSnapshotIdentifier: snapshot.snapshotId,
        DBInstanceClass: instanceClass,
        DBSubnetGroupName: input.subnetGroup ?? snapshot.subnetGroup,
        VpcSecurityGroupIds: input.securityGroupIds ?? snapshot.securityGroupIds,
        PubliclyAccessible: input.publiclyAccessible ?? false,
        MultiAZ: false,
        DeletionProtection: false,
        BackupRetentionPeriod: 0,
        ...(input.storageType ? { StorageType: input.storageType } : {}),
        Tags: tags,
      }),
    );
    return refOf(r.DBInstance ?? { DBInstanceStatus: "creating" }, { ...base, resumed: false });
  } catch (e) {
    const { code, message, retryable } = awsError(e);
    const what = `restoring snapshot ${snapshot.snapshotId} to ${id} failed: ${code}: ${message}`;
    if (code.startsWith("DBInstanceAlreadyExists") && input.backupId) {
      // Another attempt of this step won the race: resume what it started.
      const now = await call("DescribeDBInstances", () => describeDbInstance(deps, id));
      if (now) return resume(deps, now, input, base);
    }
    if (code.startsWith("InsufficientDBInstanceCapacity")) return fail({ _tag: "InsufficientCapacity", instance: id, code, message: `${what}: RDS has no ${instanceClass} capacity in this availability zone now`, retryable: true });
    if (code.startsWith("DBInstanceAlreadyExists")) return fail({ _tag: "RestoreFailed", instance: id, code, message: `${what}: an instance named ${id} exists and is not tagged as this tool's`, retryable: false });
    if (retryable) return fail({ _tag: "AwsUnavailable", action: "RestoreDBInstanceFromDBSnapshot", code, message: what, retryable: true });
    return fail({ _tag: "RestoreFailed", instance: id, code, message: what, retryable: false });
  }
}

/** An instance of this name exists: resume it if it is this backup's, else refuse. */
async function resume(deps: Pick<SnapshotDeps, "rds" | "onProgress">, i: DBInstance, input: StartRestoreInput, base: Omit<InstanceRef, "status" | "phase">): Promise<InstanceRef> {
  const id = base.instanceId;
  if (!isOurs(i) || tagOf(i, TAG.backupId) !== input.backupId) {
    return fail({ _tag: "RestoreFailed", instance: id, code: "DBInstanceAlreadyExists", message: `an instance named ${id} exists and is not this backup's temporary instance (tags ${TAG.temporary}, ${TAG.backupId}=${input.backupId}); delete or rename it`, retryable: false });
  }
  if (i.DBInstanceStatus === "deleting") {
    return fail({ _tag: "InstanceBusy", instance: id, status: "deleting", message: `temporary instance ${id} of backup ${input.backupId} is still being deleted; a new one can be restored once it is gone`, retryable: true });
  }
  deps.onProgress?.({ step: "resume", instance: id, status: i.DBInstanceStatus });
  // The failure rule must delete it if *this* execution is aborted, and leave it to this one if the old one's event comes late.
  if (input.execution && tagOf(i, TAG.execution) !== input.execution && i.DBInstanceArn) {
    await call("AddTagsToResource", () => deps.rds.send(new AddTagsToResourceCommand({ ResourceName: i.DBInstanceArn, Tags: [{ Key: TAG.execution, Value: input.execution! }] })));
  }
  return refOf(i, { ...base, resumed: true });
}

/**
 * Where the temporary instance is: status, endpoint and phase (`available` with nothing pending,
 * `working`, or `failed`: an error status, or gone). The ref comes back updated; the password
 * never does.
 */
export function describeInstance(deps: Pick<SnapshotDeps, "rds">, input: { instance: InstanceRef }): ResultAsync<InstanceRef, SnapshotError> {
  return ResultAsync.fromPromise(
    (async () => {
      const { status: _s, phase: _p, ...base } = input.instance;
      const i = await call("DescribeDBInstances", () => describeDbInstance(deps, input.instance.instanceId));
      return i ? refOf(i, base) : { ...base, status: "not-found", phase: "failed" as const };
    })(),
    asSnapshotError("DescribeDBInstances"),
  );
}

export interface DeleteOutcome {
  instanceId: string;
  /** `deleting` (deletion accepted or under way) or `gone` (RDS does not know it). */
  status: "deleting" | "gone";
}

/**
 * Deletes a temporary instance (no final snapshot, no automated backups kept) and the secret
 * holding its password. Idempotent: an instance already gone or being deleted is success. Refuses
 * (`NotTemporary`) an instance that is not tagged as this tool's, so that no id mixed up anywhere
 * can delete a production database.
 */
export function deleteTemporaryInstance(deps: Pick<SnapshotDeps, "rds" | "secrets" | "onProgress">, input: { instanceId: string }): ResultAsync<DeleteOutcome, SnapshotError> {
  return ResultAsync.fromPromise(remove(deps, input.instanceId), asSnapshotError("DeleteDBInstance"));
}

async function remove(deps: Pick<SnapshotDeps, "rds" | "secrets" | "onProgress">, id: string): Promise<DeleteOutcome> {
  const i = await call("DescribeDBInstances", () => describeDbInstance(deps, id));
  let status: DeleteOutcome["status"] = "gone";
  if (i) {
    if (!isOurs(i)) return fail({ _tag: "NotTemporary", instance: id, message: `refusing to delete ${id}: it is not tagged ${TAG.temporary}=true, so it is not a temporary instance of this tool` });
    status = "deleting";
    if (i.DBInstanceStatus !== "deleting") {
      deps.onProgress?.({ step: "delete", instance: id, status: i.DBInstanceStatus });
      try {
        await deps.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
      } catch (e) {
        const { code } = awsError(e);
        if (/^DBInstanceNotFound/.test(code)) status = "gone";
        else if (/^InvalidDBInstanceState/.test(code)) {
          const now = await call("DescribeDBInstances", () => describeDbInstance(deps, id));
          if (now && now.DBInstanceStatus !== "deleting") {
            return fail({ _tag: "InstanceBusy", instance: id, status: now.DBInstanceStatus ?? "unknown", message: `temporary instance ${id} cannot be deleted while '${now.DBInstanceStatus}'; try again shortly`, retryable: true });
          }
          status = now ? "deleting" : "gone";
        } else {
          const failure = asSnapshotError("DeleteDBInstance")(e);
          return fail(failure._tag === "AwsUnavailable" ? failure : { _tag: "CleanupFailed", instance: id, message: `deleting temporary instance ${id} failed: ${code}: ${awsError(e).message}; delete it by hand` });
        }
      }
    }
  }
  if (deps.secrets) {
    await call("DeleteSecret", async () => {
      try {
        await deps.secrets!.send(new DeleteSecretCommand({ SecretId: temporarySecretName(id), ForceDeleteWithoutRecovery: true }));
      } catch (e) {
        if (awsError(e).code !== "ResourceNotFoundException") throw e;
      }
    });
  }
  return { instanceId: id, status };
}

/** Every instance this tool tagged as temporary, across pages. */
export async function listTemporaryInstances(deps: Pick<SnapshotDeps, "rds">): Promise<DBInstance[]> {
  const out: DBInstance[] = [];
  let marker: string | undefined;
  do {
    const page = await call("DescribeDBInstances", () => deps.rds.send(new DescribeDBInstancesCommand({ Marker: marker })));
    out.push(...(page.DBInstances ?? []).filter(isOurs));
    marker = page.Marker;
  } while (marker);
  return out;
}

/**
 * Deletes the temporary instances a Step Functions execution left behind (found by their
 * execution tag): the target of the rule on executions that were aborted or timed out, which
 * skip every `Catch`.
 */
export function deleteExecutionInstances(deps: Pick<SnapshotDeps, "rds" | "secrets" | "onProgress">, input: { execution: string }): ResultAsync<DeleteOutcome[], SnapshotError> {
  return ResultAsync.fromPromise(
    (async () => {
      const mine = (await listTemporaryInstances(deps)).filter((i) => tagOf(i, TAG.execution) === input.execution);
      const out: DeleteOutcome[] = [];
      for (const i of mine) out.push(await remove(deps, i.DBInstanceIdentifier!));
      return out;
    })(),
    asSnapshotError("DeleteDBInstance"),
  );
}
