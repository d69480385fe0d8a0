/**
 * State PrepareVerify (looped until `next` is -1): verify in place, step 1. The first call
 * creates the scratch database and copies the parts list to the staging bucket, where the
 * VerifyParts Map reads its items; every call applies one batch of pre-data.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { prepareVerifyInPlace } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseEnv, parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";
import { stageItems } from "../lib/staging.js";
import { storeFromEnv } from "../lib/store.js";
import { decryptionFromEnv, verifyTarget } from "../lib/verify-target.js";

const env = parseEnv(z.object({ STAGING_BUCKET: z.string().min(1) }));
const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);
const decryption = await decryptionFromEnv(secrets);

const input = z.object({ backupId: z.string().min(1), instance: instanceRef, next: z.number().int().min(0) });

export async function handler(event: unknown): Promise<{ next: number; applied: number; parts: number; itemsKey: string }> {
  const { backupId, instance, next } = parseInput(input, event);
  const target = await verifyTarget(secrets, instance);
  const out = await prepareVerifyInPlace({ connect: target.connect, store, ...(decryption ? { decryption } : {}) }, { id: backupId, next, maintenanceDatabase: target.maintenanceDatabase }).match(value, stepError);
  const itemsKey = `runs/${backupId}/verify-parts.json`;
  if (next === 0) await stageItems(store, out.partsKey, env.STAGING_BUCKET, itemsKey);
  return { next: out.next, applied: out.applied, parts: out.parts, itemsKey };
}
