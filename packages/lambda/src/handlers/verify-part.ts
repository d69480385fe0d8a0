/**
 * State VerifyPart (a child of the VerifyParts Map): verify in place, step 2, for exactly one
 * part: a table's part loaded into the scratch database and compared with its manifest entry,
 * or the large objects. A difference is reported by FinishVerify; a corrupt object fails here.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { verifyPartInPlace, type PartVerdict } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";
import { storeFromEnv } from "../lib/store.js";
import { decryptionFromEnv, verifyTarget } from "../lib/verify-target.js";

const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);
const decryption = await decryptionFromEnv(secrets);

/** Exactly one part: never a list. */
const input = z.object({ backupId: z.string().min(1), instance: instanceRef, part: z.number().int().min(0) }).strict();

export async function handler(event: unknown): Promise<PartVerdict> {
  const { backupId, instance, part } = parseInput(input, event);
  const target = await verifyTarget(secrets, instance);
  return await verifyPartInPlace({ connect: target.connect, store, ...(decryption ? { decryption } : {}) }, { id: backupId, part, targetName: target.targetName }).match(value, stepError);
}
