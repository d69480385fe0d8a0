// NOT WIRED (phase 2): needs commitBackup from @cobalt-backup/core (issue 12). See README.md.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { commitBackup } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";
import { storeFromEnv } from "../lib/store.js";
import { TOOL } from "../lib/dump-settings.js";

const store = await storeFromEnv(new SecretsManagerClient({}));

/** Refuses when any unit lacks its marker (UnitsMissing); writes manifest.json last. */
export async function handler(event: unknown) {
  const { backupId } = parseInput(z.object({ backupId: z.string() }), event);
  return await commitBackup({ store, tool: TOOL }, { id: backupId }).match(value, stepError);
}
