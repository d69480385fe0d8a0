/** State VerifyPostData (looped until `next` is -1): verify in place, step 3: the next fixed-size batch of post-data (constraints, indexes, triggers), in dependency order. */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { postDataInPlace } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";
import { storeFromEnv } from "../lib/store.js";
import { decryptionFromEnv, verifyTarget } from "../lib/verify-target.js";

const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);
const decryption = await decryptionFromEnv(secrets);

const input = z.object({ backupId: z.string().min(1), instance: instanceRef, next: z.number().int().min(0) });

export async function handler(event: unknown): Promise<{ next: number; applied: number }> {
  const { backupId, instance, next } = parseInput(input, event);
  const target = await verifyTarget(secrets, instance);
  return await postDataInPlace({ connect: target.connect, store, ...(decryption ? { decryption } : {}) }, { id: backupId, next }).match(value, stepError);
}
