/** State Retention: applies the retention policy to the store (core's pruneBackups), after the new backup is committed and verified. */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { pruneBackups } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseEnv } from "../lib/input.js";
import { storeFromEnv } from "../lib/store.js";

const keep = z.number().int().min(0).optional();
const env = parseEnv(z.object({ RETENTION: z.string().transform((s) => z.object({ keepLast: keep, keepDaily: keep, keepWeekly: keep, keepMonthly: keep }).strict().parse(JSON.parse(s))) }));
const store = await storeFromEnv(new SecretsManagerClient({}));

/** At most this many removed ids are returned: the output travels in the state's payload. */
const LISTED = 50;

export async function handler(): Promise<{ removed: string[]; removedCount: number; kept: number }> {
  const report = await pruneBackups({ store, now: () => new Date() }, { policy: env.RETENTION, dryRun: false }).match(value, stepError);
  const removed = report.decisions.filter((d) => d.action === "remove").map((d) => d.id);
  return { removed: removed.slice(0, LISTED), removedCount: removed.length, kept: report.decisions.length - removed.length };
}
