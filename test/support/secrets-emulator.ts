/**
 * A Secrets Manager emulator for tests: the real JSON 1.1 protocol over HTTP on 127.0.0.1
 * (`X-Amz-Target: secretsmanager.<Action>`), so the real `@aws-sdk/client-secrets-manager`
 * talks to it, as test/support/rds-emulator does for RDS.
 *
 *   const sm = await startSecretsEmulator();
 *   const client = new SecretsManagerClient(sm.clientConfig);
 *   ...
 *   sm.value("cobalt-backup/cobalt-tmp-x")   // the current SecretString, for assertions
 *   await sm.stop();
 *
 * Actions: CreateSecret, PutSecretValue, GetSecretValue, DescribeSecret, DeleteSecret (with a
 * recovery window: the secret is marked deleted and refuses writes, as AWS does; or
 * ForceDeleteWithoutRecovery). Recorded requests have every SecretString replaced by "****".
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface Secret {
  name: string;
  arn: string;
  description?: string;
  tags: { Key: string; Value: string }[];
  value?: string;
  versionId?: string;
  created: Date;
  changed: Date;
  deletedAt?: Date;
}

export interface SecretsRequest {
  action: string;
  /** The request body, SecretString masked. */
  params: Record<string, unknown>;
  status: number;
  error?: string;
}

export interface SecretsEmulator {
  endpoint: string;
  clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** The current SecretString of a secret (by name), or undefined when there is none. */
  value(name: string): string | undefined;
  /** Names of the secrets that exist and are not deleted. */
  names(): string[];
  readonly requests: readonly SecretsRequest[];
  /** The next `times` calls of `action` fail with `code` (HTTP 400, or 500 for InternalServiceError). */
  fail(action: string, code: string, times?: number): void;
  stop(): Promise<void>;
}

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = code === "InternalServiceError" ? 500 : 400,
  ) {
    super(message);
  }
}

const epoch = (d: Date) => d.getTime() / 1000;

export async function startSecretsEmulator(): Promise<SecretsEmulator> {
  const secrets = new Map<string, Secret>();
  const requests: SecretsRequest[] = [];
  const faults: { action: string; code: string; remaining: number }[] = [];

  const find = (id: unknown): Secret => {
    const key = String(id ?? "");
    const s = secrets.get(key) ?? [...secrets.values()].find((x) => x.arn === key);
    if (!s) throw new ApiError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return s;
  };
  const writable = (s: Secret) => {
    if (s.deletedAt) throw new ApiError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.");
    return s;
  };
  const setValue = (s: Secret, value: unknown) => {
    if (typeof value !== "string" || value.length === 0) throw new ApiError("InvalidParameterException", "You must provide either SecretString or SecretBinary.");
    if (value.length > 65_536) throw new ApiError("InvalidParameterException", "SecretString is too large.");
    s.value = value;
    s.versionId = randomUUID();
    s.changed = new Date();
  };

  const actions: Record<string, (p: Record<string, unknown>) => Record<string, unknown>> = {
    CreateSecret(p) {
      const name = String(p.Name ?? "");
      if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) throw new ApiError("ValidationException", `Invalid name: ${name}`);
      const existing = secrets.get(name);
      if (existing?.deletedAt) throw new ApiError("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.");
      if (existing) throw new ApiError("ResourceExistsException", `The operation failed because the secret ${name} already exists.`);
      const now = new Date();
      const s: Secret = { name, arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomBytes(3).toString("hex").slice(0, 6)}`, tags: (p.Tags as Secret["tags"]) ?? [], created: now, changed: now, ...(p.Description ? { description: String(p.Description) } : {}) };
      if (p.SecretString !== undefined) setValue(s, p.SecretString);
      secrets.set(name, s);
      return { ARN: s.arn, Name: s.name, ...(s.versionId ? { VersionId: s.versionId } : {}) };
    },
    PutSecretValue(p) {
      const s = writable(find(p.SecretId));
      setValue(s, p.SecretString);
      return { ARN: s.arn, Name: s.name, VersionId: s.versionId, VersionStages: ["AWSCURRENT"] };
    },
    GetSecretValue(p) {
      const s = find(p.SecretId);
      if (s.deletedAt) throw new ApiError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.");
      if (s.value === undefined) throw new ApiError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");
      return { ARN: s.arn, Name: s.name, VersionId: s.versionId, SecretString: s.value, VersionStages: ["AWSCURRENT"], CreatedDate: epoch(s.changed) };
    },
    DescribeSecret(p) {
      const s = find(p.SecretId);
      return { ARN: s.arn, Name: s.name, ...(s.description ? { Description: s.description } : {}), Tags: s.tags, CreatedDate: epoch(s.created), LastChangedDate: epoch(s.changed), ...(s.deletedAt ? { DeletedDate: epoch(s.deletedAt) } : {}) };
    },
    DeleteSecret(p) {
      const s = find(p.SecretId);
      if (p.ForceDeleteWithoutRecovery && p.RecoveryWindowInDays !== undefined) throw new ApiError("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
      const now = new Date();
      if (p.ForceDeleteWithoutRecovery) secrets.delete(s.name);
      else s.deletedAt ??= now;
      const days = p.ForceDeleteWithoutRecovery ? 0 : Number(p.RecoveryWindowInDays ?? 30);
      return { ARN: s.arn, Name: s.name, DeletionDate: epoch(now) + days * 86_400 };
    },
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const action = target.replace(/^secretsmanager\./, "");
      let params: Record<string, unknown> = {};
      let status = 200;
      let body: string;
      try {
        params = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
        if (!target.startsWith("secretsmanager.") || !Object.hasOwn(actions, action)) throw new ApiError("UnknownOperationException", `Unknown operation ${target}`);
        const fault = faults.find((f) => f.action === action && f.remaining > 0);
        if (fault) {
          fault.remaining--;
          throw new ApiError(fault.code, `${fault.code} (injected)`);
        }
        body = JSON.stringify(actions[action]!(params));
      } catch (e) {
        const error = e instanceof ApiError ? e : new ApiError("InternalServiceError", String(e), 500);
        status = error.status;
        body = JSON.stringify({ __type: error.code, message: error.message });
      }
      requests.push({ action, params: { ...params, ...("SecretString" in params ? { SecretString: "****" } : {}) }, status, ...(status === 200 ? {} : { error: (JSON.parse(body) as { __type: string }).__type }) });
      res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID(), "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    clientConfig: { endpoint, region: REGION, credentials: { accessKeyId: "emulator", secretAccessKey: "emulator" } },
    value: (name) => {
      const s = secrets.get(name);
      return s && !s.deletedAt ? s.value : undefined;
    },
    names: () => [...secrets.values()].filter((s) => !s.deletedAt).map((s) => s.name),
    requests,
    fail: (action, code, times = 1) => void faults.push({ action, code, remaining: times }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
