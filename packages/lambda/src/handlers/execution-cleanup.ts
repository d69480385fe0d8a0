/**
 * Target of the failure rule: an execution that was aborted or timed out skipped every `Catch`,
 * so this deletes the temporary instances tagged with its execution ARN (and their secrets).
 * The executions alarm tells the operator.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { deleteExecutionInstances, type DeleteOutcome } from "@cobalt-backup/core/rds";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";

const rds = new RDSClient({});
const secrets = new SecretsManagerClient({});

/** The EventBridge event "Step Functions Execution Status Change", as far as it is read. */
const event = z.object({ detail: z.object({ executionArn: z.string().min(1), status: z.string() }) });

export async function handler(e: unknown): Promise<{ execution: string; status: string; deleted: DeleteOutcome[] }> {
  const { detail } = parseInput(event, e);
  const deleted = await deleteExecutionInstances({ rds, secrets }, { execution: detail.executionArn }).match(value, stepError);
  return { execution: detail.executionArn, status: detail.status, deleted };
}
