import { randomBytes } from "node:crypto";
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type DBInstance,
  type DBSnapshot,
  type RDSClient,
} from "@aws-sdk/client-rds";
import { AuthorizeSecurityGroupIngressCommand, RevokeSecurityGroupIngressCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { ResultAsync, err, ok } from "../result.js";
import { awsError, type SnapshotError } from "./errors.js";
import { Interrupted, pollUntil, systemClock, type Clock } from "./poll.js";

/** Tags that mark an instance as this tool's temporary one; `cleanup` trusts nothing else. */
export const TAG = {
  temporary: "cobalt-backup:temporary",
  source: "cobalt-backup:source",
  snapshot: "cobalt-backup:snapshot",
  created: "cobalt-backup:created",
  expires: "cobalt-backup:expires",
} as const;

export interface SnapshotDeps {
  /** RDS control plane (`DescribeDBInstances`, `RestoreDBInstanceFromDBSnapshot`, ...). */
  rds: Pick<RDSClient, "send">;
  /** EC2, only for opening the security group to this runner. */
  ec2?: Pick<EC2Client, "send">;
  clock?: Clock;
  /** A fresh master password for the temporary instance (default: 32 random characters). */
  newPassword?: () => string;
  onProgress?: (e: { step: string; instance?: string; status?: string; detail?: string }) => void;
}

export interface RestoreSnapshotInput {
  /** The production instance whose snapshot is restored (never touched itself). */
  sourceInstance: string;
  /** `latest` (newest available automated or manual snapshot), or a snapshot identifier. */
  snapshot: string;
  /** Default `cobalt-tmp-<source>`; one temporary instance per source at a time. */
  instanceId?: string;
  /**
   * Default db.t4g.medium: a restore from snapshot spends its time hydrating storage, which a
   * bigger class barely speeds up; the dump is bounded by the instance's network and CPU, so a
   * larger class (db.m6g.large) pays off only for databases of hundreds of GB.
   */
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
  /** Deletes the instance (and revokes ingress), waiting until it is gone. Safe to call twice. */
  release(): ResultAsync<void, SnapshotError>;
}

class Failure extends Error {
  constructor(readonly error: SnapshotError) {
    super(error.message);
  }
}
const fail = (e: SnapshotError): never => {
  throw new Failure(e);
};
const asResult = <T>(p: Promise<T>, action: string): ResultAsync<T, SnapshotError> =>
  ResultAsync.fromPromise(p, (e) => (e instanceof Failure ? e.error : { _tag: "AwsCallFailed", action, ...awsError(e) }));

async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof Failure) throw e;
    return fail({ _tag: "AwsCallFailed", action, ...awsError(e), message: `${action} failed: ${awsError(e).code}: ${awsError(e).message}` });
  }
}

const isNotFound = (e: unknown) => awsError(e).code === "DBInstanceNotFound" || awsError(e).code === "DBInstanceNotFoundFault";
const tag = (i: DBInstance, key: string) => i.TagList?.find((t) => t.Key === key)?.Value;

async function describe(deps: SnapshotDeps, id: string): Promise<DBInstance | undefined> {
  try {
    const r = await deps.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return r.DBInstances?.[0];
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Every instance this tool tagged as temporary, across pages. */
export async function listTemporaryInstances(deps: SnapshotDeps): Promise<DBInstance[]> {
  const out: DBInstance[] = [];
  let marker: string | undefined;
  do {
    const page = await call("DescribeDBInstances", () => deps.rds.send(new DescribeDBInstancesCommand({ Marker: marker })));
    out.push(...(page.DBInstances ?? []).filter((i) => tag(i, TAG.temporary) === "true"));
    marker = page.Marker;
  } while (marker);
  return out;
}

async function findSnapshot(deps: SnapshotDeps, source: string, wanted: string): Promise<DBSnapshot> {
  if (wanted !== "latest") {
    try {
      const r = await deps.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: wanted }));
      const s = r.DBSnapshots?.[0];
      if (s && s.Status === "available") return s;
      return fail({ _tag: "SnapshotNotFound", snapshot: wanted, message: `snapshot ${wanted} is ${s?.Status ?? "missing"}, not available` });
    } catch (e) {
      if (e instanceof Failure) throw e;
      const { code } = awsError(e);
      if (/DBSnapshotNotFound/.test(code)) return fail({ _tag: "SnapshotNotFound", snapshot: wanted, message: `no snapshot ${wanted}: check the name with 'aws rds describe-db-snapshots --db-instance-identifier ${source}'` });
      throw e;
    }
  }
  const all: DBSnapshot[] = [];
  let marker: string | undefined;
  do {
    const page = await call("DescribeDBSnapshots", () => deps.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: source, Marker: marker })));
    all.push(...(page.DBSnapshots ?? []));
    marker = page.Marker;
  } while (marker);
  const newest = all
    .filter((s) => s.Status === "available" && s.SnapshotCreateTime)
    .sort((a, b) => b.SnapshotCreateTime!.getTime() - a.SnapshotCreateTime!.getTime())[0];
  return newest ?? fail({ _tag: "NoSnapshot", instance: source, message: `instance ${source} has no available snapshot: take one with 'cobalt-backup snapshot --rds-instance ${source}' or check automated backups are on` });
}

/** Deletes an instance and waits until RDS no longer knows it. */
async function deleteAndWait(deps: SnapshotDeps, clock: Clock, id: string, waitMs: number, interval: number): Promise<void> {
  deps.onProgress?.({ step: "delete", instance: id });
  try {
    await deps.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
  } catch (e) {
    const { code } = awsError(e);
    if (isNotFound(e)) return;
    // Already being deleted: wait for it like any other deletion.
    if (code !== "InvalidDBInstanceState" && code !== "InvalidDBInstanceStateFault") {
      fail({ _tag: "CleanupFailed", instance: id, message: `deleting temporary instance ${id} failed: ${code}: ${awsError(e).message}; delete it by hand or run 'cobalt-backup cleanup'` });
    }
  }
  const gone = await pollUntil(clock, { deadline: new Date(clock.now().getTime() + waitMs), initialIntervalMs: interval }, async () => {
    const i = await describe(deps, id).catch((e) => (awsError(e).retryable ? ({} as DBInstance) : Promise.reject(e)));
    if (!i) return true;
    deps.onProgress?.({ step: "delete", instance: id, status: i.DBInstanceStatus });
    return undefined;
  });
  if (!gone) fail({ _tag: "CleanupFailed", instance: id, message: `temporary instance ${id} was still not deleted after ${Math.round(waitMs / 1000)} s; check it in the console or run 'cobalt-backup cleanup'` });
}

/** Waits until the instance is `available` with nothing pending; fails with a clear message at the deadline. */
async function waitAvailable(deps: SnapshotDeps, clock: Clock, id: string, waitMs: number, interval: number, what: string, signal?: AbortSignal): Promise<DBInstance> {
  let last = "unknown";
  const ready = await pollUntil(clock, { deadline: new Date(clock.now().getTime() + waitMs), initialIntervalMs: interval, ...(signal ? { signal } : {}) }, async () => {
    let i: DBInstance | undefined;
    try {
      i = await describe(deps, id);
    } catch (e) {
      if (awsError(e).retryable) return undefined; // throttled beyond the SDK's retries: poll again
      throw e;
    }
    if (!i) fail({ _tag: "RestoreFailed", instance: id, code: "DBInstanceNotFound", message: `temporary instance ${id} disappeared while ${what}`, retryable: true });
    last = i!.DBInstanceStatus ?? "unknown";
    deps.onProgress?.({ step: what, instance: id, status: last });
    const pending = i!.PendingModifiedValues && Object.values(i!.PendingModifiedValues).some((v) => v !== undefined && v !== null);
    return last === "available" && !pending ? i : undefined;
  });
  return ready ?? fail({ _tag: "WaitTimedOut", instance: id, status: last, message: `temporary instance ${id} was still '${last}' after ${Math.round(waitMs / 1000)} s while ${what}; it is being deleted` });
}

/**
 * Restores the chosen snapshot of `sourceInstance` to a temporary, tagged, private instance with
 * a fresh master password, and returns it with a `release` that deletes it. If any step fails the
 * instance is deleted before the error is returned. Leftovers of an earlier run (found by tag)
 * are deleted first. The production instance is only described, never modified.
 */
export function restoreSnapshot(deps: SnapshotDeps, input: RestoreSnapshotInput): ResultAsync<TemporaryInstance, SnapshotError> {
  return asResult(run(deps, input), "RestoreDBInstanceFromDBSnapshot");
}

async function run(deps: SnapshotDeps, input: RestoreSnapshotInput): Promise<TemporaryInstance> {
  const clock = deps.clock ?? systemClock;
  const waitMs = input.waitMs ?? 2 * 3_600_000;
  const interval = input.pollIntervalMs ?? 5_000;
  const id = input.instanceId ?? `cobalt-tmp-${input.sourceInstance}`.slice(0, 63);

  deps.onProgress?.({ step: "describe source", instance: input.sourceInstance });
  const source = await call("DescribeDBInstances", () => describe(deps, input.sourceInstance));
  if (!source) fail({ _tag: "SourceInstanceNotFound", instance: input.sourceInstance, message: `no RDS instance ${input.sourceInstance} in this account and region: check --rds-instance and the region` });
  const snapshot = await findSnapshot(deps, input.sourceInstance, input.snapshot);
  deps.onProgress?.({ step: "snapshot", detail: `${snapshot.DBSnapshotIdentifier} (${snapshot.SnapshotType}, ${snapshot.SnapshotCreateTime?.toISOString()})` });

  for (const leftover of await listTemporaryInstances(deps)) {
    if (tag(leftover, TAG.source) !== input.sourceInstance && leftover.DBInstanceIdentifier !== id) continue;
    deps.onProgress?.({ step: "delete leftover", instance: leftover.DBInstanceIdentifier });
    await deleteAndWait(deps, clock, leftover.DBInstanceIdentifier!, waitMs, interval);
  }

  const created = clock.now();
  const expires = new Date(created.getTime() + (input.expiresInMs ?? 12 * 3_600_000));
  try {
    await deps.rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: id,
        DBSnapshotIdentifier: snapshot.DBSnapshotIdentifier,
        DBInstanceClass: input.instanceClass ?? "db.t4g.medium",
        DBSubnetGroupName: input.subnetGroup ?? source!.DBSubnetGroup?.DBSubnetGroupName,
        VpcSecurityGroupIds: input.securityGroupIds ?? source!.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId!).filter(Boolean),
        PubliclyAccessible: input.publiclyAccessible ?? false,
        MultiAZ: false,
        DeletionProtection: false,
        ...(input.storageType ? { StorageType: input.storageType } : {}),
        Tags: [
          { Key: TAG.temporary, Value: "true" },
          { Key: TAG.source, Value: input.sourceInstance },
          { Key: TAG.snapshot, Value: snapshot.DBSnapshotIdentifier },
          { Key: TAG.created, Value: created.toISOString() },
          { Key: TAG.expires, Value: expires.toISOString() },
        ],
      }),
    );
  } catch (e) {
    const { code, message, retryable } = awsError(e);
    const hint =
      code.startsWith("InsufficientDBInstanceCapacity") ? `: RDS has no ${input.instanceClass ?? "db.t4g.medium"} capacity in this availability zone now; try another --instance-class or later` :
      code.startsWith("DBInstanceAlreadyExists") ? `: an instance named ${id} exists and is not tagged as this tool's; choose another --temp-instance name` : "";
    return fail({ _tag: "RestoreFailed", instance: id, code, message: `restoring snapshot ${snapshot.DBSnapshotIdentifier} to ${id} failed: ${code}: ${message}${hint}`, retryable });
  }

  let ingressOpened = false;
  let released = false;
  const release = (): ResultAsync<void, SnapshotError> =>
    asResult(
      (async () => {
        if (released) return;
        released = true;
        if (ingressOpened && input.ingress && deps.ec2) {
          await call("RevokeSecurityGroupIngress", () => deps.ec2!.send(new RevokeSecurityGroupIngressCommand(ingressRule(input.ingress!, port))));
        }
        await deleteAndWait(deps, clock, id, waitMs, interval);
      })(),
      "DeleteDBInstance",
    );
  let port = 5432;
  try {
    let ready = await waitAvailable(deps, clock, id, waitMs, interval, "restoring", input.signal);
    let password = input.existingPassword;
    if (password === undefined) {
      // A fresh password: the production master password is never read or needed.
      password = deps.newPassword?.() ?? randomBytes(24).toString("base64url");
      deps.onProgress?.({ step: "reset password", instance: id });
      const fresh = password;
      await call("ModifyDBInstance", () => deps.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, MasterUserPassword: fresh, ApplyImmediately: true })));
      ready = await waitAvailable(deps, clock, id, waitMs, interval, "applying the new password", input.signal);
    }
    port = ready.Endpoint?.Port ?? 5432;
    if (input.ingress) {
      if (!deps.ec2) fail({ _tag: "AwsCallFailed", action: "AuthorizeSecurityGroupIngress", code: "NoEc2Client", message: "opening ingress needs an EC2 client", retryable: false });
      await call("AuthorizeSecurityGroupIngress", () => deps.ec2!.send(new AuthorizeSecurityGroupIngressCommand(ingressRule(input.ingress!, port))));
      ingressOpened = true;
    }
    return {
      instanceId: id,
      snapshotId: snapshot.DBSnapshotIdentifier!,
      snapshotTime: snapshot.SnapshotCreateTime!,
      host: ready.Endpoint?.Address ?? "",
      port,
      masterUsername: ready.MasterUsername ?? source!.MasterUsername ?? "postgres",
      password,
      ...(ready.DBName ?? source!.DBName ? { database: ready.DBName ?? source!.DBName } : {}),
      ...(ready.EngineVersion ? { engineVersion: ready.EngineVersion } : {}),
      release,
    };
  } catch (e) {
    // Whatever went wrong, the temporary instance does not outlive this call.
    await release();
    if (e instanceof Interrupted) fail({ _tag: "Interrupted", instance: id, message: `interrupted; temporary instance ${id} was deleted` });
    throw e;
  }
}

const ingressRule = (ingress: { securityGroupId: string; cidr: string }, port: number) => ({
  GroupId: ingress.securityGroupId,
  IpPermissions: [{ IpProtocol: "tcp", FromPort: port, ToPort: port, IpRanges: [{ CidrIp: ingress.cidr, Description: "cobalt-backup temporary access" }] }],
});

/**
 * Restores a snapshot, runs `use` against the temporary instance, and deletes the instance
 * whatever `use` returned. The error of `use` wins over a cleanup error; a cleanup error after a
 * successful `use` is returned as the result's error (the work is done but an instance may remain).
 */
export function withRestoredSnapshot<T, E>(
  deps: SnapshotDeps,
  input: RestoreSnapshotInput,
  use: (instance: TemporaryInstance) => ResultAsync<T, E>,
): ResultAsync<T, E | SnapshotError> {
  return restoreSnapshot(deps, input).andThen(
    (instance) =>
      new ResultAsync<T, E | SnapshotError>(
        (async () => {
          const outcome = await use(instance);
          const released = await instance.release();
          if (outcome.isErr()) return err(outcome.error);
          if (released.isErr()) return err(released.error);
          return ok(outcome.value);
        })(),
      ),
  );
}
