/** Scheduled janitor: deletes temporary instances (and their secrets) whose expiry tag has passed, whatever left them behind. */
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { cleanupExpired, type CleanupDecision } from "@cobalt-backup/core/rds";
import { stepError, value } from "../lib/errors.js";

const rds = new RDSClient({});
const secrets = new SecretsManagerClient({});

export async function handler(): Promise<{ decisions: CleanupDecision[] }> {
  return { decisions: await cleanupExpired({ rds, secrets }, { dryRun: false }).match(value, stepError) };
}
