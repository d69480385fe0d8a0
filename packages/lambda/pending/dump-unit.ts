// NOT WIRED (phase 2): needs dumpUnit from @cobalt-backup/core (issue 12). See README.md.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { dumpUnit } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { instanceConnect } from "../lib/instance-connect.js";
import { parseEnv, parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";
import { storeFromEnv } from "../lib/store.js";
import { encryptionKeys } from "../lib/dump-settings.js";

const env = parseEnv(z.object({ DB_TLS: z.enum(["require", "verify", "disable"]).default("require") }));
const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);
const encryption = encryptionKeys();

const input = z.object({ backupId: z.string(), unit: z.number().int().min(0), instance: instanceRef });

/** One unit: one object and its marker. Idempotent (a unit whose marker and object match is skipped). */
export async function handler(event: unknown) {
  const { backupId, unit, instance } = parseInput(input, event);
  const connect = await instanceConnect({ secrets }, { instance, database: instance.database ?? "postgres", tls: env.DB_TLS });
  return await dumpUnit({ connect, store, ...(encryption ? { encryption } : {}) }, { id: backupId, unit }).match(value, stepError);
}
