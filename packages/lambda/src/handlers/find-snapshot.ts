/** State FindSnapshot: the snapshot to restore, and the run's backup id and temporary instance name. Creates nothing. */
import { RDSClient } from "@aws-sdk/client-rds";
import { backupTime, newBackupId } from "@cobalt-backup/core";
import { findSnapshot, temporaryInstanceId } from "@cobalt-backup/core/rds";
import { z } from "zod";
import { StepError, stepError, value } from "../lib/errors.js";
import { parseEnv, parseInput } from "../lib/input.js";
import type { RunRef } from "../lib/refs.js";

const env = parseEnv(z.object({ SOURCE_INSTANCE: z.string().min(1), SNAPSHOT: z.string().min(1).default("latest"), DATABASE: z.string().min(1).optional() }));
const rds = new RDSClient({});

const input = z.object({
  /** The execution's input: `{}` for a nightly run; `{"backupId", "snapshot"}` to resume a failed one. */
  input: z.object({ backupId: z.string().min(1).optional(), snapshot: z.string().min(1).optional() }),
  /** The execution's start time: the new backup's id is stamped with it. */
  startTime: z.string(),
});

export async function handler(event: unknown): Promise<RunRef> {
  const { input: run, startTime } = parseInput(input, event);
  if (run.backupId && !backupTime(run.backupId)) throw new StepError("InvalidInput", `backupId ${run.backupId} is not a backup id (<database>/<YYYYMMDDTHHMMSS.mmmZ>)`);
  // Units already dumped came from one snapshot: a resumed backup must read the same one.
  if (run.backupId && !run.snapshot) throw new StepError("InvalidInput", `resuming backup ${run.backupId} needs the snapshot its first run read: start the execution with {"backupId", "snapshot"} as the failure notification gives them`);
  const snapshot = await findSnapshot({ rds }, { sourceInstance: env.SOURCE_INSTANCE, snapshot: run.snapshot ?? env.SNAPSHOT }).match(value, stepError);
  const database = env.DATABASE ?? snapshot.database ?? "postgres";
  const backupId = run.backupId ?? newBackupId(database, new Date(startTime));
  return { backupId, instanceId: temporaryInstanceId(backupId), database, snapshot };
}
