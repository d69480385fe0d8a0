/**
 * State PrepareInstance: a fresh random master password on the temporary instance, kept in Secrets
 * Manager; the output names the secret, never the password. The instance then resets its
 * credentials: the wait loop describes it again until it is available.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { prepareInstance, type InstanceRef } from "@cobalt-backup/core/rds";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";

const rds = new RDSClient({});
const secrets = new SecretsManagerClient({});

export async function handler(event: unknown): Promise<InstanceRef> {
  const { instance } = parseInput(z.object({ instance: instanceRef }), event);
  return await prepareInstance({ rds, secrets }, { instance }).match(value, stepError);
}
