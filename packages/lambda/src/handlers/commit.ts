/** State Commit: reads the plan and every unit's marker, refuses when one is missing (UnitsMissing), writes manifest.json last. */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { commitBackup } from "@cobalt-backup/core";
import { z } from "zod";
import { TOOL } from "../lib/dump-settings.js";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";
import { storeFromEnv } from "../lib/store.js";

const store = await storeFromEnv(new SecretsManagerClient({}));

export async function handler(event: unknown): Promise<{ id: string; manifestKey: string; units: number; reusedUnits: number }> {
  const { backupId, attempt } = parseInput(z.object({ backupId: z.string().min(1), attempt: z.string().min(1) }), event);
  const { id, manifestKey, units, reusedUnits } = await commitBackup({ store, tool: TOOL }, { id: backupId, attempt }).match(value, stepError);
  // The manifest stays in the store: the state's payload carries only its key and counts.
  return { id, manifestKey, units, reusedUnits };
}
