/**
 * Where the verify states restore the backup: a scratch database on the temporary instance
 * (default), or on a PostgreSQL server whose URL is kept in Secrets Manager. The keys that open
 * an encrypted backup come from Secrets Manager too: neither is ever in a payload.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { DecryptionKeys, InPlaceDeps } from "@cobalt-backup/core";
import type { InstanceRef } from "@cobalt-backup/core/rds";
import pg from "pg";
import { z } from "zod";
import { StepError } from "./errors.js";
import { instanceConnect } from "./instance-connect.js";
import { parseEnv } from "./input.js";

const env = parseEnv(
  z.object({
    /** A secret whose value is a postgresql:// URL: verify on that server instead of the temporary instance. */
    VERIFY_SCRATCH_SECRET: z.string().min(1).optional(),
    /** A secret whose value is the age identity (`AGE-SECRET-KEY-1...`) of an encrypted backup. */
    AGE_IDENTITY_SECRET: z.string().min(1).optional(),
    /** Where CREATE and DROP DATABASE run: not the backed-up database, which the plan made read-only. */
    MAINTENANCE_DATABASE: z.string().min(1).default("postgres"),
  }),
);

async function secretValue(secrets: Pick<SecretsManagerClient, "send">, id: string): Promise<string> {
  try {
    const v = (await secrets.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
    if (!v) throw new StepError("InvalidConfiguration", `secret ${id} has no string value`);
    return v.trim();
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError("AwsUnavailable", `reading secret ${id} failed: ${(e as Error).name}`);
  }
}

/** The age identity that opens an encrypted backup, read once per container. */
export async function decryptionFromEnv(secrets: Pick<SecretsManagerClient, "send">): Promise<DecryptionKeys | undefined> {
  return env.AGE_IDENTITY_SECRET ? { identities: [await secretValue(secrets, env.AGE_IDENTITY_SECRET)] } : undefined;
}

const scratchUrl = new Map<string, string>();

/** The verify steps' connection to the scratch server, the database they create from, and its name for reports (no credentials). */
export async function verifyTarget(secrets: Pick<SecretsManagerClient, "send">, instance: InstanceRef): Promise<{ connect: InPlaceDeps["connect"]; maintenanceDatabase: string; targetName: string }> {
  if (env.VERIFY_SCRATCH_SECRET) {
    let url = scratchUrl.get(env.VERIFY_SCRATCH_SECRET);
    if (!url) scratchUrl.set(env.VERIFY_SCRATCH_SECRET, (url = await secretValue(secrets, env.VERIFY_SCRATCH_SECRET)));
    const base = new URL(url);
    const maintenance = decodeURIComponent(base.pathname.slice(1)) || "postgres";
    return {
      connect: (database) => async () => {
        const u = new URL(url);
        u.pathname = `/${encodeURIComponent(database)}`;
        const client = new pg.Client({ connectionString: u.href, application_name: "cobalt-backup", connectionTimeoutMillis: 30_000 });
        client.on("error", () => {});
        await client.connect();
        return client;
      },
      maintenanceDatabase: maintenance,
      targetName: `the scratch server ${base.hostname}`,
    };
  }
  return {
    connect: (database) => async () => (await instanceConnect({ secrets }, { instance, database }))(),
    maintenanceDatabase: env.MAINTENANCE_DATABASE,
    targetName: `the temporary instance ${instance.instanceId}`,
  };
}
