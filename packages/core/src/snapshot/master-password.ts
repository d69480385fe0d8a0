/**
 * The temporary instance's master password: a fresh random one (the production password is never
 * read or needed), kept in Secrets Manager between steps so that it never travels in a state
 * machine's payload or history, and never in any output, error or log.
 */
import { randomBytes } from "node:crypto";
import { ModifyDBInstanceCommand } from "@aws-sdk/client-rds";
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { ResultAsync } from "../result.js";
import { asSnapshotError, awsError, call, fail, type SnapshotError } from "./errors.js";
import { describeDbInstance } from "./find-snapshot.js";
import { TAG, temporarySecretName, type InstanceRef, type SnapshotDeps } from "./instance-ref.js";

/** 32 characters RDS accepts as a master password (no '/', '@', '"' or space). */
export const newMasterPassword = (): string => randomBytes(24).toString("base64url");

/** Runs `work`, keeping `secret` out of whatever error comes out of it. */
async function withoutSecret<T>(secret: string, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const error = asSnapshotError(action)(e);
    fail({ ...error, message: error.message.split(secret).join("****") } as SnapshotError);
  }
}

/** Sets the instance's master password (ModifyDBInstance, applied at once). The instance then passes `resetting-master-credentials`. */
export async function setMasterPassword(deps: Pick<SnapshotDeps, "rds" | "onProgress">, instanceId: string, password: string): Promise<void> {
  deps.onProgress?.({ step: "reset password", instance: instanceId });
  await withoutSecret(password, "ModifyDBInstance", async () => {
    try {
      await deps.rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: instanceId, MasterUserPassword: password, ApplyImmediately: true }));
    } catch (e) {
      // Still applying an earlier change (a retried step): the same call succeeds once it is available.
      if (/^InvalidDBInstanceState/.test(awsError(e).code)) fail({ _tag: "InstanceBusy", instance: instanceId, status: "modifying", message: `temporary instance ${instanceId} is not available for a password change yet; try again shortly`, retryable: true });
      throw e;
    }
  });
}

/** The secret's JSON, in the shape RDS-managed secrets use. */
interface InstanceSecret {
  engine: "postgres";
  username: string;
  password: string;
  host?: string;
  port?: number;
  dbname?: string;
  dbInstanceIdentifier: string;
}

/**
 * Sets a fresh random master password on the temporary instance and stores it in Secrets
 * Manager (`cobalt-backup/<instance>`, created or overwritten) before applying it, so a
 * password RDS accepted is always one the secret holds. Returns the ref with `secretId` and
 * phase `working`: the instance is resetting its credentials; `describeInstance` again until
 * it is available.
 */
export function prepareInstance(deps: Pick<SnapshotDeps, "rds" | "secrets" | "newPassword" | "onProgress">, input: { instance: InstanceRef }): ResultAsync<InstanceRef, SnapshotError> {
  const secrets = deps.secrets;
  const { instance } = input;
  return ResultAsync.fromPromise(
    (async () => {
      if (!secrets) return fail({ _tag: "AwsCallFailed", action: "PutSecretValue", code: "NoSecretsClient", message: "keeping the temporary instance's password needs a Secrets Manager client", retryable: false });
      // Never the production instance, whatever ref arrives: only one tagged as this tool's.
      const current = await call("DescribeDBInstances", () => describeDbInstance(deps, instance.instanceId));
      if (current?.TagList?.find((t) => t.Key === TAG.temporary)?.Value !== "true") {
        return fail({ _tag: "NotTemporary", instance: instance.instanceId, message: `refusing to change the password of ${instance.instanceId}: it is ${current ? "not tagged as a temporary instance of this tool" : "not there"}` });
      }
      if (!instance.username) return fail({ _tag: "RestoreFailed", instance: instance.instanceId, code: "NotDescribed", message: `temporary instance ${instance.instanceId} has no master user name yet: describe it until it is available first`, retryable: false });
      const password = deps.newPassword?.() ?? newMasterPassword();
      const secretId = temporarySecretName(instance.instanceId);
      const value: InstanceSecret = {
        engine: "postgres",
        username: instance.username,
        password,
        ...(instance.host ? { host: instance.host } : {}),
        ...(instance.port ? { port: instance.port } : {}),
        ...(instance.database ? { dbname: instance.database } : {}),
        dbInstanceIdentifier: instance.instanceId,
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
              Tags: [{ Key: TAG.temporary, Value: "true" }],
            }),
          );
        }
      });
      await setMasterPassword(deps, instance.instanceId, password);
      return { ...instance, secretId, status: "resetting-master-credentials", phase: "working" as const };
    })(),
    asSnapshotError("ModifyDBInstance"),
  );
}

/** How to connect to a prepared temporary instance, password included: for the steps that use it, never to be logged or returned. */
export interface InstanceCredentials {
  host: string;
  port: number;
  username: string;
  password: string;
  database?: string;
}

/** Reads the password `prepareInstance` stored, with the endpoint from the ref. */
export function readInstanceCredentials(deps: Pick<SnapshotDeps, "secrets">, input: { instance: InstanceRef }): ResultAsync<InstanceCredentials, SnapshotError> {
  const { instance } = input;
  return ResultAsync.fromPromise(
    (async () => {
      if (!deps.secrets || !instance.secretId) return fail({ _tag: "AwsCallFailed", action: "GetSecretValue", code: "NoSecret", message: `temporary instance ${instance.instanceId} has no stored password: prepare it first`, retryable: false });
      const r = await deps.secrets.send(new GetSecretValueCommand({ SecretId: instance.secretId }));
      let s: Partial<InstanceSecret>;
      try {
        s = JSON.parse(r.SecretString ?? "") as Partial<InstanceSecret>;
      } catch {
        s = {};
      }
      const host = instance.host ?? s.host;
      const port = instance.port ?? s.port;
      if (!s.password || !host || !port) return fail({ _tag: "AwsCallFailed", action: "GetSecretValue", code: "MalformedSecret", message: `secret ${instance.secretId} or the ref of ${instance.instanceId} lacks the password or the endpoint`, retryable: false });
      const database = instance.database ?? s.dbname;
      return { host, port, username: instance.username ?? s.username ?? "postgres", password: s.password, ...(database ? { database } : {}) };
    })(),
    asSnapshotError("GetSecretValue"),
  );
}
