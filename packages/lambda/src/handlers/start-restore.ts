/** State StartRestore: restores the snapshot to the run's temporary instance (or finds it, when resuming). Returns at once. */
import { RDSClient } from "@aws-sdk/client-rds";
import { startRestore, type InstanceRef } from "@cobalt-backup/core/rds";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseEnv, parseInput } from "../lib/input.js";
import { runRef } from "../lib/refs.js";

const env = parseEnv(
  z.object({
    INSTANCE_CLASS: z.string().min(1).optional(),
    /** The DB subnet group (private subnets the functions reach) and the security group admitting only them. */
    SUBNET_GROUP: z.string().min(1).optional(),
    SECURITY_GROUP_IDS: z.string().min(1).optional(),
    STORAGE_TYPE: z.string().min(1).optional(),
    /** The janitor deletes the instance after this long even if every other cleanup failed; longer than the state machine's timeout. */
    EXPIRES_HOURS: z.coerce.number().positive().default(25),
  }),
);
const rds = new RDSClient({});

const input = z.object({ run: runRef, execution: z.string().min(1) });

export async function handler(event: unknown): Promise<InstanceRef> {
  const { run, execution } = parseInput(input, event);
  return startRestore(
      { rds },
      {
        snapshot: run.snapshot,
        instanceId: run.instanceId,
        backupId: run.backupId,
        execution,
        expiresInMs: env.EXPIRES_HOURS * 3_600_000,
        ...(env.INSTANCE_CLASS ? { instanceClass: env.INSTANCE_CLASS } : {}),
        ...(env.SUBNET_GROUP ? { subnetGroup: env.SUBNET_GROUP } : {}),
        ...(env.SECURITY_GROUP_IDS ? { securityGroupIds: env.SECURITY_GROUP_IDS.split(",") } : {}),
        ...(env.STORAGE_TYPE ? { storageType: env.STORAGE_TYPE } : {}),
      },
    ).match(value, stepError);
}
