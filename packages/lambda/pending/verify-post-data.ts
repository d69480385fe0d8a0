// NOT WIRED (phase 2): state VerifyPostData, against the PROPOSED core function verifyPostDataBatch (verify in place on the
// temporary instance), which does not exist yet. See README.md for the payloads and the design.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { verifyPostDataBatch } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { instanceConnect } from "../lib/instance-connect.js";
import { parseEnv, parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";
import { storeFromEnv } from "../lib/store.js";

const env = parseEnv(z.object({ DB_TLS: z.enum(["require", "verify", "disable"]).default("require") }));
const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);

const input = z.looseObject({ backupId: z.string(), instance: instanceRef });

export async function handler(event: unknown) {
  const { backupId, instance, ...rest } = parseInput(input, event);
  // The scratch database is created by PrepareVerify; connecting to the maintenance database lets it create one.
  const connect = (database: string) => instanceConnect({ secrets }, { instance, database, tls: env.DB_TLS });
  return await verifyPostDataBatch({ connect, store }, { id: backupId, ...rest }).match(value, stepError);
}
