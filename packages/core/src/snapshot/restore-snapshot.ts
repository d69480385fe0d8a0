/**
 * The temporary instance for one process (the CLI): the lifecycle steps composed with waiting in
 * between, and a `release` that deletes the instance. A state machine calls the same steps one by
 * one instead (instance-steps.ts).
 */
import { AuthorizeSecurityGroupIngressCommand, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { ResultAsync } from "../result.js";
import { asSnapshotError, call, fail, type SnapshotError } from "./errors.js";
import { findSnapshot } from "./find-snapshot.js";
import { TAG, type InstanceRef, type SnapshotDeps } from "./instance-ref.js";
import { deleteTemporaryInstance, describeInstance, listTemporaryInstances, startRestore } from "./instance-steps.js";
import { newMasterPassword, setMasterPassword } from "./master-password.js";
import { pollUntil, systemClock, type Clock } from "./poll.js";

export interface RestoreSnapshotInput {
  /** The production instance whose snapshot is restored (never touched itself). */
  sourceInstance: string;
  /** `latest` (newest available automated or manual snapshot), or a snapshot identifier. */
  snapshot: string;
  /** Default `cobalt-tmp-<source>`; one temporary instance per source at a time. */
  instanceId?: string;
  /** See `StartRestoreInput.instanceClass` (default db.t4g.medium). */
  instanceClass?: string;
  subnetGroup?: string;
  securityGroupIds?: string[];
  publiclyAccessible?: boolean;
  storageType?: string;
  /** Give up waiting for each state after this long (default 2 hours). */
  waitMs?: number;
  /** `cleanup` deletes the instance after this long even if this run died (default 12 hours). */
  expiresInMs?: number;
  /** Open the instance's port to this runner for the duration (a security group and a /32 CIDR). */
  ingress?: { securityGroupId: string; cidr: string };
  /** First poll interval (default 5 s); tests use less. */
  pollIntervalMs?: number;
  /** Aborting stops the restore; the temporary instance, if created, is deleted before it returns. */
  signal?: AbortSignal;
  /**
   * Given the snapshot chosen, the backup the instance serves (tagged on it): a new id, or an
   * unfinished backup of that snapshot to continue (the caller looks in its store), whose leftover
   * instance is then reused instead of deleted.
   */
  backupFor?: (snapshot: { snapshotId: string; database?: string }) => Promise<{ id: string; resume: boolean }>;
  /**
   * Use this master password (from an existing secret, as the snapshot's) instead of resetting it.
   * Default: reset it to a fresh random one, so no production secret is needed.
   */
  existingPassword?: string;
}

export interface TemporaryInstance {
  instanceId: string;
  snapshotId: string;
  snapshotTime: Date;
  host: string;
  port: number;
  masterUsername: string;
  /** The fresh password set on the temporary instance; never the production one. */
  password: string;
  /** The database the instance was created with (DBName), when RDS reports one. */
  database?: string;
  engineVersion?: string;
  /** The backup it serves (`backupFor`'s answer). */
  backup?: { id: string; resume: boolean };
  /** An instance an earlier, interrupted attempt of that backup had left was reused. */
  resumed: boolean;
  /** Deletes the instance (and revokes ingress), waiting until it is gone. Safe to call twice. */
  release(): ResultAsync<void, SnapshotError>;
}


/** Deletes an instance and waits until RDS no longer knows it. */
async function deleteAndWait(deps: SnapshotDeps, clock: Clock, id: string, waitMs: number, interval: number): Promise<void> {
  const deadline = new Date(clock.now().getTime() + waitMs);
  let last = "deleting";
  // An instance in the middle of a change may refuse deletion for a while: ask again until the deadline.
  const accepted = await pollUntil(clock, { deadline, initialIntervalMs: interval }, async () => {
    const r = await deleteTemporaryInstance(deps, { instanceId: id });
    if (r.isOk()) return r.value;
    if (r.error._tag === "InstanceBusy" || r.error._tag === "AwsUnavailable") {
      if (r.error._tag === "InstanceBusy") last = r.error.status;
      return undefined;
    }
    return fail(r.error);
  });
  const gone = accepted && (await pollUntil(clock, { deadline, initialIntervalMs: interval }, async () => {
    const r = await describeInstance(deps, { instance: { instanceId: id, sourceInstance: "", snapshotId: "" } });
    if (r.isErr()) return r.error._tag === "AwsUnavailable" ? undefined : fail(r.error);
    last = r.value.status ?? last;
    if (last === "not-found") return true;
    deps.onProgress?.({ step: "delete", instance: id, status: last });
    return undefined;
  }));
  if (!gone) fail({ _tag: "CleanupFailed", instance: id, message: `temporary instance ${id} was still '${last}' after ${Math.round(waitMs / 1000)} s; check it in the RDS console` });
}

/** Describes the instance until it is available with nothing pending; fails at once if it fails, or at the deadline. */
async function waitAvailable(deps: SnapshotDeps, clock: Clock, ref: InstanceRef, waitMs: number, interval: number, what: string, signal?: AbortSignal): Promise<InstanceRef> {
  let last = ref;
  const ready = await pollUntil(clock, { deadline: new Date(clock.now().getTime() + waitMs), initialIntervalMs: interval, ...(signal ? { signal } : {}) }, async () => {
    const r = await describeInstance(deps, { instance: last });
    if (r.isErr()) return r.error._tag === "AwsUnavailable" ? undefined : fail(r.error); // throttled beyond the SDK's retries: poll again
    last = r.value;
    deps.onProgress?.({ step: what, instance: ref.instanceId, ...(last.status ? { status: last.status } : {}) });
    if (last.phase === "failed") {
      const gone = last.status === "not-found";
      fail({ _tag: "RestoreFailed", instance: ref.instanceId, code: gone ? "DBInstanceNotFound" : last.status ?? "failed", message: gone ? `temporary instance ${ref.instanceId} disappeared while ${what}` : `temporary instance ${ref.instanceId} is '${last.status}' while ${what}; it is being deleted`, retryable: gone });
    }
    return last.phase === "available" ? last : undefined;
  });
  return ready ?? fail({ _tag: "WaitTimedOut", instance: ref.instanceId, status: last.status ?? "unknown", message: `temporary instance ${ref.instanceId} was still '${last.status}' after ${Math.round(waitMs / 1000)} s while ${what}; it is being deleted` });
}

/**
 * Restores the chosen snapshot of `sourceInstance` to a temporary, tagged, private instance with
 * a fresh master password, and returns it with a `release` that deletes it. If any step fails the
 * instance is deleted before the error is returned. Leftovers of an earlier run (found by tag)
 * are deleted first. The production instance is only described, never modified.
 */
export function restoreSnapshot(deps: SnapshotDeps, input: RestoreSnapshotInput): ResultAsync<TemporaryInstance, SnapshotError> {
  return ResultAsync.fromPromise(run(deps, input), asSnapshotError("RestoreDBInstanceFromDBSnapshot"));
}

async function run(deps: SnapshotDeps, input: RestoreSnapshotInput): Promise<TemporaryInstance> {
  const clock = deps.clock ?? systemClock;
  const waitMs = input.waitMs ?? 2 * 3_600_000;
  const interval = input.pollIntervalMs ?? 5_000;
  const id = input.instanceId ?? `cobalt-tmp-${input.sourceInstance}`.slice(0, 63);

  const snapshot = await findSnapshot(deps, { sourceInstance: input.sourceInstance, snapshot: input.snapshot }).match((v) => v, fail);
  const backup = await input.backupFor?.({ snapshotId: snapshot.snapshotId, ...(snapshot.database ? { database: snapshot.database } : {}) });
  const backupId = backup?.id;
  const tag = (i: { TagList?: { Key?: string; Value?: string }[] }, key: string) => i.TagList?.find((t) => t.Key === key)?.Value;
  for (const leftover of await listTemporaryInstances(deps)) {
    if (tag(leftover, TAG.source) !== input.sourceInstance && leftover.DBInstanceIdentifier !== id) continue;
    // The instance of the backup being continued, from the same snapshot, is kept and reused.
    if (backup?.resume && leftover.DBInstanceIdentifier === id && tag(leftover, TAG.backupId) === backupId && tag(leftover, TAG.snapshot) === snapshot.snapshotId && leftover.DBInstanceStatus !== "deleting") continue;
    deps.onProgress?.({ step: "delete leftover", instance: leftover.DBInstanceIdentifier });
    await deleteAndWait(deps, clock, leftover.DBInstanceIdentifier!, waitMs, interval);
  }

  let ref = await startRestore(deps, {
    snapshot,
    instanceId: id,
    ...(backupId ? { backupId } : {}),
    ...(input.instanceClass ? { instanceClass: input.instanceClass } : {}),
    ...(input.subnetGroup ? { subnetGroup: input.subnetGroup } : {}),
    ...(input.securityGroupIds ? { securityGroupIds: input.securityGroupIds } : {}),
    ...(input.publiclyAccessible !== undefined ? { publiclyAccessible: input.publiclyAccessible } : {}),
    ...(input.storageType ? { storageType: input.storageType } : {}),
    ...(input.expiresInMs !== undefined ? { expiresInMs: input.expiresInMs } : {}),
  }).match((v) => v, fail);

  const resumed = Boolean(ref.resumed);
  let ingressOpened = false;
  let released = false;
  let port = 5432;
  const release = (): ResultAsync<void, SnapshotError> =>
    ResultAsync.fromPromise(
      (async () => {
        if (released) return;
        released = true;
        if (ingressOpened && input.ingress && deps.ec2) {
          await call("RevokeSecurityGroupIngress", () => deps.ec2!.send(new RevokeSecurityGroupIngressCommand(ingressRule(input.ingress!, port))));
        }
        await deleteAndWait(deps, clock, id, waitMs, interval);
      })(),
      asSnapshotError("DeleteDBInstance"),
    );
  try {
    ref = await waitAvailable(deps, clock, ref, waitMs, interval, "restoring", input.signal);
    let password = input.existingPassword;
    if (password === undefined) {
      password = deps.newPassword?.() ?? newMasterPassword();
      await setMasterPassword(deps, id, password);
      ref = await waitAvailable(deps, clock, { ...ref, phase: "working" }, waitMs, interval, "applying the new password", input.signal);
    }
    port = ref.port ?? 5432;
    if (input.ingress) {
      if (!deps.ec2) fail({ _tag: "AwsCallFailed", action: "AuthorizeSecurityGroupIngress", code: "NoEc2Client", message: "opening ingress needs an EC2 client", retryable: false });
      await call("AuthorizeSecurityGroupIngress", () => deps.ec2!.send(new AuthorizeSecurityGroupIngressCommand(ingressRule(input.ingress!, port))));
      ingressOpened = true;
    }
    const database = ref.database ?? snapshot.database;
    return {
      instanceId: id,
      snapshotId: snapshot.snapshotId,
      snapshotTime: new Date(snapshot.snapshotTime),
      host: ref.host ?? "",
      port,
      masterUsername: ref.username ?? snapshot.masterUsername ?? "postgres",
      password,
      ...(database ? { database } : {}),
      ...(ref.engineVersion ? { engineVersion: ref.engineVersion } : {}),
      ...(backup ? { backup } : {}),
      resumed,
      release,
    };
  } catch (e) {
    // Whatever went wrong, the temporary instance does not outlive this call; what went wrong is
    // the error, unless the instance could not be deleted, which outranks it.
    const released = await release();
    if (released.isErr()) fail({ ...released.error, message: `${released.error.message} (it was being deleted after: ${asSnapshotError("RestoreDBInstanceFromDBSnapshot")(e).message})` } as SnapshotError);
    if (input.signal?.aborted) fail({ _tag: "Interrupted", instance: id, message: `interrupted; temporary instance ${id} was deleted` });
    throw e;
  }
}

const ingressRule = (ingress: { securityGroupId: string; cidr: string }, port: number) => ({
  GroupId: ingress.securityGroupId,
  IpPermissions: [{ IpProtocol: "tcp", FromPort: port, ToPort: port, IpRanges: [{ CidrIp: ingress.cidr, Description: "cobalt-backup temporary access" }] }],
});
