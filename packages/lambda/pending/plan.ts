// NOT WIRED (phase 2): needs planDump from @cobalt-backup/core (issue 12). See README.md.
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { planDump } from "@cobalt-backup/core";
import { z } from "zod";
import { stepError, value } from "../lib/errors.js";
import { instanceConnect } from "../lib/instance-connect.js";
import { parseEnv, parseInput } from "../lib/input.js";
import { instanceRef, snapshotRef } from "../lib/refs.js";
import { storeFromEnv } from "../lib/store.js";
import { dumpSettings, TOOL } from "../lib/dump-settings.js";

const env = parseEnv(z.object({ STAGING_BUCKET: z.string().min(1), DB_TLS: z.enum(["require", "verify", "disable"]).default("require") }));
const secrets = new SecretsManagerClient({});
const staging = new S3Client({});
const store = await storeFromEnv(secrets);

const input = z.object({ backupId: z.string(), database: z.string(), snapshot: snapshotRef, instance: instanceRef });

export async function handler(event: unknown) {
  const { backupId, database, snapshot, instance } = parseInput(input, event);
  const connect = await instanceConnect({ secrets }, { instance, database, tls: env.DB_TLS });
  const plan = await planDump(
      { connect, store, tool: TOOL },
      {
        id: backupId,
        consistency: "frozen",
        source: { kind: "rds-snapshot", host: instance.host!, port: instance.port!, database, user: instance.username!, instance: snapshot.sourceInstance, snapshotId: snapshot.snapshotId },
        settings: dumpSettings(),
      },
    ).match(value, stepError);
  // The Distributed Map reads its items from S3 in this account: copy the (small) units list there.
  const units = await store.get(plan.unitsKey).match(value, stepError);
  const itemsKey = `runs/${backupId}/units.json`;
  await staging.send(new PutObjectCommand({ Bucket: env.STAGING_BUCKET, Key: itemsKey, Body: Buffer.concat(await units.toArray()), ContentType: "application/json" }));
  return { planKey: plan.planKey, units: plan.units, tables: plan.tables, itemsKey };
}
