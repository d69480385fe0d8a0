/** State DeleteInstance (and DeleteAfterFailure): deletes the run's temporary instance and its password secret. Idempotent; refuses an instance not tagged as temporary. */
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { deleteTemporaryInstance, type DeleteOutcome } from "@cobalt-backup/core/rds";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";

const rds = new RDSClient({});
const secrets = new SecretsManagerClient({});

export async function handler(event: unknown): Promise<DeleteOutcome> {
  const { instanceId } = parseInput(z.object({ instanceId: z.string().min(1) }), event);
  return await deleteTemporaryInstance({ rds, secrets }, { instanceId }).match(value, stepError);
}
