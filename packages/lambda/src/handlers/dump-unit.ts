/**
 * State DumpUnit (a child of the DumpUnits Map): one unit of the plan (a table, a chunk of one,
 * or the large objects) to one object and its marker. Idempotent: a unit whose marker and object
 * match is skipped (`reused`). The attempt is the execution's ARN, so a commit counts what an
 * earlier execution had done.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { dumpUnit, type UnitResult } from "@cobalt-backup/core";
import { z } from "zod";
import { encryptionKeys } from "../lib/dump-settings.js";
import { stepError, value } from "../lib/errors.js";
import { instanceConnect } from "../lib/instance-connect.js";
import { parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";
import { storeFromEnv } from "../lib/store.js";

const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);

/** Exactly one unit: never a list. */
const input = z.object({ backupId: z.string().min(1), database: z.string().min(1), unit: z.number().int().min(0), attempt: z.string().min(1), instance: instanceRef }).strict();

export async function handler(event: unknown): Promise<UnitResult> {
  const { backupId, database, unit, attempt, instance } = parseInput(input, event);
  const connect = await instanceConnect({ secrets }, { instance, database });
  return await dumpUnit({ connect, store, ...(encryptionKeys ? { encryption: encryptionKeys } : {}) }, { id: backupId, unit, attempt }).match(value, stepError);
}
