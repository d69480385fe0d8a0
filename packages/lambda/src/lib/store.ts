import { S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { BackupStore } from "@cobalt-backup/core";
import { s3Store } from "@cobalt-backup/core/s3";
import { z } from "zod";
import { StepError } from "./errors.js";
import { parseEnv } from "./input.js";

const storeEnv = z.object({
  /** `s3://bucket/prefix`: AWS S3, or Backblaze B2 and other S3-compatible stores with STORE_ENDPOINT. */
  STORE_URL: z.string().regex(/^s3:\/\/[^/]+/, "expected s3://bucket[/prefix]"),
  STORE_ENDPOINT: z.url().optional(),
  STORE_REGION: z.string().optional(),
  /** A Secrets Manager secret `{"accessKeyId": ..., "secretAccessKey": ...}`: a B2 application key (IAM credentials cannot sign for B2). */
  STORE_CREDENTIALS_SECRET: z.string().optional(),
});

/**
 * The backup store from the function's environment. The client is built as the CLI builds it:
 * path style for custom endpoints, checksums only when required (B2 rejects the SDK's defaults).
 */
export async function storeFromEnv(secrets: Pick<SecretsManagerClient, "send">): Promise<BackupStore> {
  const env = parseEnv(storeEnv);
  const [, bucket = "", prefix = ""] = /^s3:\/\/([^/]+)\/?(.*)$/.exec(env.STORE_URL) ?? [];
  let credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  if (env.STORE_CREDENTIALS_SECRET) {
    const r = await secrets.send(new GetSecretValueCommand({ SecretId: env.STORE_CREDENTIALS_SECRET }));
    const parsed = z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) }).safeParse(JSON.parse(r.SecretString ?? "{}"));
    if (!parsed.success) throw new StepError("InvalidConfiguration", `secret ${env.STORE_CREDENTIALS_SECRET} must hold {"accessKeyId": ..., "secretAccessKey": ...}`);
    credentials = parsed.data;
  }
  const client = new S3Client({
    ...(env.STORE_ENDPOINT ? { endpoint: env.STORE_ENDPOINT, forcePathStyle: true } : {}),
    ...(env.STORE_REGION ? { region: env.STORE_REGION } : {}),
    ...(credentials ? { credentials } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 6,
  });
  return s3Store({ client, bucket, prefix: prefix.replace(/\/+$/, "") });
}
