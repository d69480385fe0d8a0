/**
 * State Plan: captures the schema, sizes and splits the tables and stores the plan (core's
 * planDump; a resumed backup gets its stored plan), then copies the units list to the staging
 * bucket, where the DumpUnits Map reads its items.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { planDump } from "@cobalt-backup/core";
import { z } from "zod";
import { dumpSettings } from "../lib/dump-settings.js";
import { stepError, value } from "../lib/errors.js";
import { instanceConnect } from "../lib/instance-connect.js";
import { parseEnv, parseInput } from "../lib/input.js";
import { instanceRef, snapshotRef } from "../lib/refs.js";
import { stageItems } from "../lib/staging.js";
import { storeFromEnv } from "../lib/store.js";

const env = parseEnv(z.object({ STAGING_BUCKET: z.string().min(1) }));
const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);

const input = z.object({ backupId: z.string().min(1), database: z.string().min(1), snapshot: snapshotRef, instance: instanceRef });

export async function handler(event: unknown): Promise<{ planKey: string; units: number; tables: number; resumed: boolean; itemsKey: string }> {
  const { backupId, database, snapshot, instance } = parseInput(input, event);
  const connect = await instanceConnect({ secrets }, { instance, database });
  const source = { kind: "rds-snapshot" as const, host: instance.host ?? "", port: instance.port ?? 5432, database, user: instance.username ?? "", instance: snapshot.sourceInstance, snapshotId: snapshot.snapshotId };
  const plan = await planDump({ connect, store }, { id: backupId, consistency: "frozen", source, settings: dumpSettings() }).match(value, stepError);
  const itemsKey = `runs/${backupId}/units.json`;
  await stageItems(store, plan.unitsKey, env.STAGING_BUCKET, itemsKey);
  return { planKey: plan.planKey, units: plan.units, tables: plan.tables, resumed: plan.resumed, itemsKey };
}
