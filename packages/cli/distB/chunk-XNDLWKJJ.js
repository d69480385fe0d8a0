#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import {
  Failure,
  ResultAsync,
  failWith,
  unexpected
} from "./chunk-SZRQ5ROZ.js";

// ../core/dist/rds.js
import { AuthorizeSecurityGroupIngressCommand, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { DescribeDBInstancesCommand, DescribeDBSnapshotsCommand } from "@aws-sdk/client-rds";
import {
  AddTagsToResourceCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand as DescribeDBInstancesCommand2,
  RestoreDBInstanceFromDBSnapshotCommand
} from "@aws-sdk/client-rds";
import { DeleteSecretCommand } from "@aws-sdk/client-secrets-manager";
import { randomBytes } from "crypto";
import { ModifyDBInstanceCommand } from "@aws-sdk/client-rds";
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { CreateDBSnapshotCommand, DescribeDBSnapshotsCommand as DescribeDBSnapshotsCommand2 } from "@aws-sdk/client-rds";
function awsError(e) {
  const err = e;
  const code = err.Code ?? err.name ?? "Error";
  const status = err.$metadata?.httpStatusCode ?? 0;
  const network = /TimeoutError|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up/i.test(`${code} ${err.message ?? ""}`);
  const retryable = Boolean(err.$retryable) || status >= 500 || network || /Throttl|RequestLimitExceeded|InsufficientDBInstanceCapacity/i.test(code);
  return { code, message: err.message ?? String(e), retryable };
}
function isAwsError(e) {
  if (typeof e !== "object" || e === null) return false;
  if ("$metadata" in e || "$fault" in e) return true;
  const { name, code, message } = e;
  return /TimeoutError|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|CredentialsProviderError/i.test(`${String(name)} ${String(code)} ${String(message)}`);
}
function awsProblem(e) {
  const { code, message } = awsError(e);
  const text = `${code} ${message}`;
  if (/Could not load credentials|CredentialsProviderError/i.test(text)) return "credentials";
  if (/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|UnrecognizedClient|InvalidClientTokenId|ExpiredToken/i.test(text)) return "denied";
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|getaddrinfo|fetch failed|TimeoutError|timed? ?out/i.test(text)) return "unreachable";
  return void 0;
}
function awsFailure(action, e) {
  const { code, message, retryable } = awsError(e);
  const text = `${action} failed: ${code}: ${message}`;
  const problem = awsProblem(e);
  const reason = problem ? { reason: problem } : {};
  return retryable ? { _tag: "AwsUnavailable", action, code, message: text, retryable: true, ...reason } : { _tag: "AwsCallFailed", action, code, message: text, retryable: false, ...reason };
}
var fail = failWith();
async function call(action, run2) {
  try {
    return await run2();
  } catch (e) {
    return fail(asSnapshotError(action)(e));
  }
}
var asSnapshotError = (action) => (e) => e instanceof Failure ? e.error : isAwsError(e) ? awsFailure(action, e) : unexpected(e, `${action} failed`);
var isInstanceNotFound = (e) => /^DBInstanceNotFound/.test(awsError(e).code);
async function describeDbInstance(deps, id) {
  try {
    const r = await deps.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return r.DBInstances?.[0];
  } catch (e) {
    if (isInstanceNotFound(e)) return void 0;
    throw e;
  }
}
function findSnapshot(deps, input) {
  return ResultAsync.fromPromise(find(deps, input), asSnapshotError("DescribeDBSnapshots"));
}
async function find(deps, input) {
  deps.onProgress?.({ step: "describe source", instance: input.sourceInstance });
  const source = await call("DescribeDBInstances", () => describeDbInstance(deps, input.sourceInstance));
  if (!source) fail({ _tag: "SourceInstanceNotFound", instance: input.sourceInstance, message: `no RDS instance ${input.sourceInstance} in this account and region` });
  const s = input.snapshot === "latest" ? await newest(deps, input.sourceInstance) : await named(deps, input.sourceInstance, input.snapshot);
  deps.onProgress?.({ step: "snapshot", detail: `${s.DBSnapshotIdentifier} (${s.SnapshotType}, ${s.SnapshotCreateTime?.toISOString()})` });
  const securityGroupIds = source.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId).filter(Boolean);
  const database = source.DBName;
  return {
    sourceInstance: input.sourceInstance,
    snapshotId: s.DBSnapshotIdentifier,
    snapshotTime: (s.SnapshotCreateTime ?? /* @__PURE__ */ new Date(0)).toISOString(),
    ...s.EngineVersion ? { engineVersion: s.EngineVersion } : {},
    ...source.DBSubnetGroup?.DBSubnetGroupName ? { subnetGroup: source.DBSubnetGroup.DBSubnetGroupName } : {},
    ...securityGroupIds?.length ? { securityGroupIds } : {},
    ...s.MasterUsername ?? source.MasterUsername ? { masterUsername: s.MasterUsername ?? source.MasterUsername } : {},
    ...database ? { database } : {}
  };
}
async function named(deps, source, wanted) {
  try {
    const r = await deps.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: wanted }));
    const s = r.DBSnapshots?.[0];
    if (s && s.Status === "available") return s;
    return fail({ _tag: "SnapshotNotFound", snapshot: wanted, message: `snapshot ${wanted} is ${s?.Status ?? "missing"}, not available` });
  } catch (e) {
    if (e instanceof Failure) throw e;
    if (/DBSnapshotNotFound/.test(awsError(e).code)) return fail({ _tag: "SnapshotNotFound", snapshot: wanted, message: `no snapshot ${wanted} of ${source}: check its name in the RDS console or with 'aws rds describe-db-snapshots'` });
    throw e;
  }
}
async function newest(deps, source) {
  const all = [];
  let marker;
  do {
    const page = await call("DescribeDBSnapshots", () => deps.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: source, Marker: marker })));
    all.push(...page.DBSnapshots ?? []);
    marker = page.Marker;
  } while (marker);
  const best = all.filter((s) => s.Status === "available" && s.SnapshotCreateTime).sort((a, b) => b.SnapshotCreateTime.getTime() - a.SnapshotCreateTime.getTime())[0];
  return best ?? fail({ _tag: "NoSnapshot", instance: source, message: `instance ${source} has no available snapshot: check that automated backups are on, or take a manual snapshot` });
}
var TAG = {
  temporary: "cobalt-backup:temporary",
  source: "cobalt-backup:source",
  snapshot: "cobalt-backup:snapshot",
  created: "cobalt-backup:created",
  expires: "cobalt-backup:expires",
  /** The backup id the instance serves: a later run with the same id finds and resumes it. */
  backupId: "cobalt-backup:backup-id",
  /** The Step Functions execution using it: the failure rule deletes what an aborted execution left. */
  execution: "cobalt-backup:execution"
};
var FAILED_STATUSES = /* @__PURE__ */ new Set([
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
  "not-found"
]);
function temporaryInstanceId(backupId) {
  const [source = "db", time = ""] = backupId.split("/");
  const clean = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  const stamp = clean(time).replace(/-/g, "");
  const room = 63 - "cobalt-tmp-".length - (stamp ? stamp.length + 1 : 0);
  const name = clean(source).slice(0, room).replace(/-+$/, "") || "db";
  return `cobalt-tmp-${name}${stamp ? `-${stamp}` : ""}`;
}
var temporarySecretName = (instanceId) => `cobalt-backup/${instanceId}`;
var systemClock = {
  now: () => /* @__PURE__ */ new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms))
};
async function pollUntil(clock, opts, check) {
  let interval = opts.initialIntervalMs ?? 2e3;
  for (; ; ) {
    opts.signal?.throwIfAborted();
    const value = await check();
    if (value !== void 0) return value;
    const left = opts.deadline.getTime() - clock.now().getTime();
    if (left <= 0) return void 0;
    const jittered = interval * (0.8 + Math.random() * 0.4);
    await clock.sleep(Math.min(jittered, left));
    interval = Math.min(interval * 1.5, opts.maxIntervalMs ?? 3e4);
  }
}
var tagOf = (i, key) => i.TagList?.find((t) => t.Key === key)?.Value;
var isOurs = (i) => tagOf(i, TAG.temporary) === "true";
function refOf(i, base) {
  const status = i.DBInstanceStatus ?? "unknown";
  const pending = i.PendingModifiedValues && Object.values(i.PendingModifiedValues).some((v) => v !== void 0 && v !== null);
  const phase = FAILED_STATUSES.has(status) ? "failed" : (status === "available" || status === "storage-optimization") && !pending ? "available" : "working";
  return {
    ...base,
    status,
    phase,
    ...i.Endpoint?.Address ? { host: i.Endpoint.Address } : {},
    ...i.Endpoint?.Port ? { port: i.Endpoint.Port } : {},
    ...i.MasterUsername ? { username: i.MasterUsername } : {},
    ...i.DBName ? { database: i.DBName } : {},
    ...i.EngineVersion ? { engineVersion: i.EngineVersion } : {}
  };
}
function startRestore(deps, input) {
  return ResultAsync.fromPromise(start(deps, input), asSnapshotError("RestoreDBInstanceFromDBSnapshot"));
}
async function start(deps, input) {
  const clock = deps.clock ?? systemClock;
  const { snapshot } = input;
  const id = input.instanceId ?? `cobalt-tmp-${snapshot.sourceInstance}`.slice(0, 63);
  const base = { instanceId: id, sourceInstance: snapshot.sourceInstance, snapshotId: snapshot.snapshotId, ...input.backupId ? { backupId: input.backupId } : {} };
  const existing = input.backupId ? await call("DescribeDBInstances", () => describeDbInstance(deps, id)) : void 0;
  if (existing) return resume(deps, existing, input, base);
  const created = clock.now();
  const expires = new Date(created.getTime() + (input.expiresInMs ?? 12 * 36e5));
  const tags = [
    { Key: TAG.temporary, Value: "true" },
    { Key: TAG.source, Value: snapshot.sourceInstance },
    { Key: TAG.snapshot, Value: snapshot.snapshotId },
    { Key: TAG.created, Value: created.toISOString() },
    { Key: TAG.expires, Value: expires.toISOString() },
    ...input.backupId ? [{ Key: TAG.backupId, Value: input.backupId }] : [],
    ...input.execution ? [{ Key: TAG.execution, Value: input.execution }] : []
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
        ...input.storageType ? { StorageType: input.storageType } : {},
        Tags: tags
      })
    );
    return refOf(r.DBInstance ?? { DBInstanceStatus: "creating" }, { ...base, resumed: false });
  } catch (e) {
    const { code, message, retryable } = awsError(e);
    const what = `restoring snapshot ${snapshot.snapshotId} to ${id} failed: ${code}: ${message}`;
    if (code.startsWith("DBInstanceAlreadyExists") && input.backupId) {
      const now = await call("DescribeDBInstances", () => describeDbInstance(deps, id));
      if (now) return resume(deps, now, input, base);
    }
    if (code.startsWith("InsufficientDBInstanceCapacity")) return fail({ _tag: "InsufficientCapacity", instance: id, code, message: `${what}: RDS has no ${instanceClass} capacity in this availability zone now`, retryable: true });
    if (code.startsWith("DBInstanceAlreadyExists")) return fail({ _tag: "RestoreFailed", instance: id, code, message: `${what}: an instance named ${id} exists and is not tagged as this tool's`, retryable: false });
    if (retryable) return fail({ _tag: "AwsUnavailable", action: "RestoreDBInstanceFromDBSnapshot", code, message: what, retryable: true });
    return fail({ _tag: "RestoreFailed", instance: id, code, message: what, retryable: false });
  }
}
async function resume(deps, i, input, base) {
  const id = base.instanceId;
  if (!isOurs(i) || tagOf(i, TAG.backupId) !== input.backupId) {
    return fail({ _tag: "RestoreFailed", instance: id, code: "DBInstanceAlreadyExists", message: `an instance named ${id} exists and is not this backup's temporary instance (tags ${TAG.temporary}, ${TAG.backupId}=${input.backupId}); delete or rename it`, retryable: false });
  }
  if (i.DBInstanceStatus === "deleting") {
    return fail({ _tag: "InstanceBusy", instance: id, status: "deleting", message: `temporary instance ${id} of backup ${input.backupId} is still being deleted; a new one can be restored once it is gone`, retryable: true });
  }
  deps.onProgress?.({ step: "resume", instance: id, status: i.DBInstanceStatus });
  if (input.execution && tagOf(i, TAG.execution) !== input.execution && i.DBInstanceArn) {
    await call("AddTagsToResource", () => deps.rds.send(new AddTagsToResourceCommand({ ResourceName: i.DBInstanceArn, Tags: [{ Key: TAG.execution, Value: input.execution }] })));
  }
  return refOf(i, { ...base, resumed: true });
}
function describeInstance(deps, input) {
  return ResultAsync.fromPromise(
    (async () => {
      const { status: _s, phase: _p, ...base } = input.instance;
      const i = await call("DescribeDBInstances", () => describeDbInstance(deps, input.instance.instanceId));
      return i ? refOf(i, base) : { ...base, status: "not-found", phase: "failed" };
    })(),
    asSnapshotError("DescribeDBInstances")
  );
}
function deleteTemporaryInstance(deps, input) {
  return ResultAsync.fromPromise(remove(deps, input.instanceId), asSnapshotError("DeleteDBInstance"));
}
async function remove(deps, id) {
  const i = await call("DescribeDBInstances", () => describeDbInstance(deps, id));
  let status = "gone";
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
        await deps.secrets.send(new DeleteSecretCommand({ SecretId: temporarySecretName(id), ForceDeleteWithoutRecovery: true }));
      } catch (e) {
        if (awsError(e).code !== "ResourceNotFoundException") throw e;
      }
    });
  }
  return { instanceId: id, status };
}
async function listTemporaryInstances(deps) {
  const out = [];
  let marker;
  do {
    const page = await call("DescribeDBInstances", () => deps.rds.send(new DescribeDBInstancesCommand2({ Marker: marker })));
    out.push(...(page.DBInstances ?? []).filter(isOurs));
    marker = page.Marker;
  } while (marker);
  return out;
}
function deleteExecutionInstances(deps, input) {
  return ResultAsync.fromPromise(
    (async () => {
      const mine = (await listTemporaryInstances(deps)).filter((i) => tagOf(i, TAG.execution) === input.execution);
      const out = [];
      for (const i of mine) out.push(await remove(deps, i.DBInstanceIdentifier));
      return out;
    })(),
    asSnapshotError("DeleteDBInstance")
  );
}
var newMasterPassword = () => randomBytes(24).toString("base64url");
async function withoutSecret(secret, action, work) {
  try {
    return await work();
  } catch (e) {
    const error = asSnapshotError(action)(e);
    fail({ ...error, message: error.message.split(secret).join("****") });
  }
}
async function setMasterPassword(deps, instanceId, password) {
  deps.onProgress?.({ step: "reset password", instance: instanceId });
  await withoutSecret(password, "ModifyDBInstance", async () => {
    try {
      await deps.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: instanceId, MasterUserPassword: password, ApplyImmediately: true }));
    } catch (e) {
      if (/^InvalidDBInstanceState/.test(awsError(e).code)) fail({ _tag: "InstanceBusy", instance: instanceId, status: "modifying", message: `temporary instance ${instanceId} is not available for a password change yet; try again shortly`, retryable: true });
      throw e;
    }
  });
}
function prepareInstance(deps, input) {
  const secrets = deps.secrets;
  const { instance } = input;
  return ResultAsync.fromPromise(
    (async () => {
      if (!secrets) return fail({ _tag: "AwsCallFailed", action: "PutSecretValue", code: "NoSecretsClient", message: "keeping the temporary instance's password needs a Secrets Manager client", retryable: false });
      const current = await call("DescribeDBInstances", () => describeDbInstance(deps, instance.instanceId));
      if (current?.TagList?.find((t) => t.Key === TAG.temporary)?.Value !== "true") {
        return fail({ _tag: "NotTemporary", instance: instance.instanceId, message: `refusing to change the password of ${instance.instanceId}: it is ${current ? "not tagged as a temporary instance of this tool" : "not there"}` });
      }
      if (!instance.username) return fail({ _tag: "RestoreFailed", instance: instance.instanceId, code: "NotDescribed", message: `temporary instance ${instance.instanceId} has no master user name yet: describe it until it is available first`, retryable: false });
      const password = deps.newPassword?.() ?? newMasterPassword();
      const secretId = temporarySecretName(instance.instanceId);
      const value = {
        engine: "postgres",
        username: instance.username,
        password,
        ...instance.host ? { host: instance.host } : {},
        ...instance.port ? { port: instance.port } : {},
        ...instance.database ? { dbname: instance.database } : {},
        dbInstanceIdentifier: instance.instanceId
      };
      const SecretString = JSON.stringify(value);
      await withoutSecret(password, "PutSecretValue", async () => {
        try {
          await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString }));
        } catch (e) {
          if (awsError(e).code !== "ResourceNotFoundException") throw e;
          await secrets.send(
            new CreateSecretCommand({
              Name: secretId,
              Description: `master password of cobalt-backup's temporary instance ${instance.instanceId}; deleted with it`,
              SecretString,
              Tags: [{ Key: TAG.temporary, Value: "true" }]
            })
          );
        }
      });
      await setMasterPassword(deps, instance.instanceId, password);
      return { ...instance, secretId, status: "resetting-master-credentials", phase: "working" };
    })(),
    asSnapshotError("ModifyDBInstance")
  );
}
function readInstanceCredentials(deps, input) {
  const { instance } = input;
  return ResultAsync.fromPromise(
    (async () => {
      if (!deps.secrets || !instance.secretId) return fail({ _tag: "AwsCallFailed", action: "GetSecretValue", code: "NoSecret", message: `temporary instance ${instance.instanceId} has no stored password: prepare it first`, retryable: false });
      const r = await deps.secrets.send(new GetSecretValueCommand({ SecretId: instance.secretId }));
      let s;
      try {
        s = JSON.parse(r.SecretString ?? "");
      } catch {
        s = {};
      }
      const host = instance.host ?? s.host;
      const port = instance.port ?? s.port;
      if (!s.password || !host || !port) return fail({ _tag: "AwsCallFailed", action: "GetSecretValue", code: "MalformedSecret", message: `secret ${instance.secretId} or the ref of ${instance.instanceId} lacks the password or the endpoint`, retryable: false });
      const database = instance.database ?? s.dbname;
      return { host, port, username: instance.username ?? s.username ?? "postgres", password: s.password, ...database ? { database } : {} };
    })(),
    asSnapshotError("GetSecretValue")
  );
}
async function deleteAndWait(deps, clock, id, waitMs, interval) {
  const deadline = new Date(clock.now().getTime() + waitMs);
  let last = "deleting";
  const accepted = await pollUntil(clock, { deadline, initialIntervalMs: interval }, async () => {
    const r = await deleteTemporaryInstance(deps, { instanceId: id });
    if (r.isOk()) return r.value;
    if (r.error._tag === "InstanceBusy" || r.error._tag === "AwsUnavailable") {
      if (r.error._tag === "InstanceBusy") last = r.error.status;
      return void 0;
    }
    return fail(r.error);
  });
  const gone = accepted && await pollUntil(clock, { deadline, initialIntervalMs: interval }, async () => {
    const r = await describeInstance(deps, { instance: { instanceId: id, sourceInstance: "", snapshotId: "" } });
    if (r.isErr()) return r.error._tag === "AwsUnavailable" ? void 0 : fail(r.error);
    last = r.value.status ?? last;
    if (last === "not-found") return true;
    deps.onProgress?.({ step: "delete", instance: id, status: last });
    return void 0;
  });
  if (!gone) fail({ _tag: "CleanupFailed", instance: id, message: `temporary instance ${id} was still '${last}' after ${Math.round(waitMs / 1e3)} s; check it in the RDS console` });
}
async function waitAvailable(deps, clock, ref, waitMs, interval, what, signal) {
  let last = ref;
  const ready = await pollUntil(clock, { deadline: new Date(clock.now().getTime() + waitMs), initialIntervalMs: interval, ...signal ? { signal } : {} }, async () => {
    const r = await describeInstance(deps, { instance: last });
    if (r.isErr()) return r.error._tag === "AwsUnavailable" ? void 0 : fail(r.error);
    last = r.value;
    deps.onProgress?.({ step: what, instance: ref.instanceId, ...last.status ? { status: last.status } : {} });
    if (last.phase === "failed") {
      const gone = last.status === "not-found";
      fail({ _tag: "RestoreFailed", instance: ref.instanceId, code: gone ? "DBInstanceNotFound" : last.status ?? "failed", message: gone ? `temporary instance ${ref.instanceId} disappeared while ${what}` : `temporary instance ${ref.instanceId} is '${last.status}' while ${what}; it is being deleted`, retryable: gone });
    }
    return last.phase === "available" ? last : void 0;
  });
  return ready ?? fail({ _tag: "WaitTimedOut", instance: ref.instanceId, status: last.status ?? "unknown", message: `temporary instance ${ref.instanceId} was still '${last.status}' after ${Math.round(waitMs / 1e3)} s while ${what}; it is being deleted` });
}
function restoreSnapshot(deps, input) {
  return ResultAsync.fromPromise(run(deps, input), asSnapshotError("RestoreDBInstanceFromDBSnapshot"));
}
async function run(deps, input) {
  const clock = deps.clock ?? systemClock;
  const waitMs = input.waitMs ?? 2 * 36e5;
  const interval = input.pollIntervalMs ?? 5e3;
  const id = input.instanceId ?? `cobalt-tmp-${input.sourceInstance}`.slice(0, 63);
  const snapshot = await findSnapshot(deps, { sourceInstance: input.sourceInstance, snapshot: input.snapshot }).match((v) => v, fail);
  const backup = await input.backupFor?.({ snapshotId: snapshot.snapshotId, ...snapshot.database ? { database: snapshot.database } : {} });
  const backupId = backup?.id;
  const tag = (i, key) => i.TagList?.find((t) => t.Key === key)?.Value;
  for (const leftover of await listTemporaryInstances(deps)) {
    if (tag(leftover, TAG.source) !== input.sourceInstance && leftover.DBInstanceIdentifier !== id) continue;
    if (backup?.resume && leftover.DBInstanceIdentifier === id && tag(leftover, TAG.backupId) === backupId && tag(leftover, TAG.snapshot) === snapshot.snapshotId && leftover.DBInstanceStatus !== "deleting") continue;
    deps.onProgress?.({ step: "delete leftover", instance: leftover.DBInstanceIdentifier });
    await deleteAndWait(deps, clock, leftover.DBInstanceIdentifier, waitMs, interval);
  }
  let ref = await startRestore(deps, {
    snapshot,
    instanceId: id,
    ...backupId ? { backupId } : {},
    ...input.instanceClass ? { instanceClass: input.instanceClass } : {},
    ...input.subnetGroup ? { subnetGroup: input.subnetGroup } : {},
    ...input.securityGroupIds ? { securityGroupIds: input.securityGroupIds } : {},
    ...input.publiclyAccessible !== void 0 ? { publiclyAccessible: input.publiclyAccessible } : {},
    ...input.storageType ? { storageType: input.storageType } : {},
    ...input.expiresInMs !== void 0 ? { expiresInMs: input.expiresInMs } : {}
  }).match((v) => v, fail);
  const resumed = Boolean(ref.resumed);
  let ingressOpened = false;
  let released = false;
  let port = 5432;
  const release = () => ResultAsync.fromPromise(
    (async () => {
      if (released) return;
      released = true;
      if (ingressOpened && input.ingress && deps.ec2) {
        await call("RevokeSecurityGroupIngress", () => deps.ec2.send(new RevokeSecurityGroupIngressCommand(ingressRule(input.ingress, port))));
      }
      await deleteAndWait(deps, clock, id, waitMs, interval);
    })(),
    asSnapshotError("DeleteDBInstance")
  );
  try {
    ref = await waitAvailable(deps, clock, ref, waitMs, interval, "restoring", input.signal);
    let password = input.existingPassword;
    if (password === void 0) {
      password = deps.newPassword?.() ?? newMasterPassword();
      await setMasterPassword(deps, id, password);
      ref = await waitAvailable(deps, clock, { ...ref, phase: "working" }, waitMs, interval, "applying the new password", input.signal);
    }
    port = ref.port ?? 5432;
    if (input.ingress) {
      if (!deps.ec2) fail({ _tag: "AwsCallFailed", action: "AuthorizeSecurityGroupIngress", code: "NoEc2Client", message: "opening ingress needs an EC2 client", retryable: false });
      await call("AuthorizeSecurityGroupIngress", () => deps.ec2.send(new AuthorizeSecurityGroupIngressCommand(ingressRule(input.ingress, port))));
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
      ...database ? { database } : {},
      ...ref.engineVersion ? { engineVersion: ref.engineVersion } : {},
      ...backup ? { backup } : {},
      resumed,
      release
    };
  } catch (e) {
    const released2 = await release();
    if (released2.isErr()) fail({ ...released2.error, message: `${released2.error.message} (it was being deleted after: ${asSnapshotError("RestoreDBInstanceFromDBSnapshot")(e).message})` });
    if (input.signal?.aborted) fail({ _tag: "Interrupted", instance: id, message: `interrupted; temporary instance ${id} was deleted` });
    throw e;
  }
}
var ingressRule = (ingress, port) => ({
  GroupId: ingress.securityGroupId,
  IpPermissions: [{ IpProtocol: "tcp", FromPort: port, ToPort: port, IpRanges: [{ CidrIp: ingress.cidr, Description: "cobalt-backup temporary access" }] }]
});
function cleanupExpired(deps, input) {
  const clock = deps.clock ?? systemClock;
  return ResultAsync.fromPromise(
    (async () => {
      const decisions = [];
      for (const i of await listTemporaryInstances(deps)) {
        const id = i.DBInstanceIdentifier;
        const expires = new Date(i.TagList?.find((t) => t.Key === TAG.expires)?.Value ?? "invalid");
        if (Number.isNaN(expires.getTime())) {
          decisions.push({ instance: id, action: "keep", reason: `tagged temporary but its ${TAG.expires} tag is missing or unreadable` });
        } else if (expires > clock.now()) {
          decisions.push({ instance: id, action: "keep", reason: `expires ${expires.toISOString()}` });
        } else if (i.DBInstanceStatus === "deleting") {
          decisions.push({ instance: id, action: "keep", reason: "already being deleted" });
        } else {
          decisions.push({ instance: id, action: "delete", reason: `expired ${expires.toISOString()}` });
          if (!input.dryRun) {
            const r = await deleteTemporaryInstance(deps, { instanceId: id });
            if (r.isErr()) fail(r.error);
          }
        }
      }
      return decisions;
    })(),
    asSnapshotError("cleanup")
  );
}
function takeSnapshot(deps, input) {
  const clock = deps.clock ?? systemClock;
  const snapshotId = input.snapshotId ?? `cobalt-${input.instance}-${clock.now().toISOString().replace(/[:.]/g, "-").toLowerCase()}`.slice(0, 255);
  return ResultAsync.fromPromise(
    (async () => {
      try {
        await deps.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: input.instance, DBSnapshotIdentifier: snapshotId, Tags: [{ Key: "cobalt-backup:manual", Value: "true" }] }));
      } catch (e) {
        if (/DBInstanceNotFound/.test(awsError(e).code)) fail({ _tag: "SourceInstanceNotFound", instance: input.instance, message: `no RDS instance ${input.instance} in this account and region` });
        fail(awsFailure("CreateDBSnapshot", e));
      }
      const waitMs = input.waitMs ?? 2 * 36e5;
      let status = "creating";
      const done = await pollUntil(clock, { deadline: new Date(clock.now().getTime() + waitMs), initialIntervalMs: input.pollIntervalMs ?? 5e3 }, async () => {
        const r = await deps.rds.send(new DescribeDBSnapshotsCommand2({ DBSnapshotIdentifier: snapshotId })).catch((e) => awsError(e).retryable ? void 0 : Promise.reject(e));
        const s = r?.DBSnapshots?.[0];
        status = s?.Status ?? status;
        deps.onProgress?.({ step: "snapshot", detail: `${snapshotId} ${status} ${s?.PercentProgress ?? 0}%` });
        return s?.Status === "available" ? s : void 0;
      });
      if (!done) return fail({ _tag: "WaitTimedOut", instance: input.instance, status, message: `snapshot ${snapshotId} was still '${status}' after ${Math.round(waitMs / 1e3)} s` });
      return { snapshotId, createdAt: done.SnapshotCreateTime ?? clock.now() };
    })(),
    asSnapshotError("CreateDBSnapshot")
  );
}
function checkSourceInstance(deps, input) {
  return ResultAsync.fromPromise(
    (async () => {
      const i = await call("DescribeDBInstances", () => describeDbInstance(deps, input.instance));
      if (!i) return fail({ _tag: "SourceInstanceNotFound", instance: input.instance, message: `no RDS instance ${input.instance} in this account and region` });
      return `RDS instance ${input.instance} exists (${i.Engine} ${i.EngineVersion}, ${i.DBInstanceStatus})`;
    })(),
    asSnapshotError("DescribeDBInstances")
  );
}

export {
  findSnapshot,
  TAG,
  temporaryInstanceId,
  temporarySecretName,
  systemClock,
  startRestore,
  describeInstance,
  deleteTemporaryInstance,
  listTemporaryInstances,
  deleteExecutionInstances,
  prepareInstance,
  readInstanceCredentials,
  restoreSnapshot,
  cleanupExpired,
  takeSnapshot,
  checkSourceInstance
};
//# sourceMappingURL=chunk-XNDLWKJJ.js.map