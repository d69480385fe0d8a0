/**
 * State FinishVerify: verify in place, step 4: sequences and materialized views, then the
 * comparisons (inventory, sequences, large objects, every part's verdict), verified.json, and the
 * scratch database dropped. A difference fails the state as `VerifyMismatch`, after it is recorded.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { differencesOf, finishVerifyInPlace } from "@cobalt-backup/core";
import { z } from "zod";
import { TOOL } from "../lib/dump-settings.js";
import { StepError, stepError, value } from "../lib/errors.js";
import { parseInput } from "../lib/input.js";
import { instanceRef } from "../lib/refs.js";
import { storeFromEnv } from "../lib/store.js";
import { verifyTarget } from "../lib/verify-target.js";

const secrets = new SecretsManagerClient({});
const store = await storeFromEnv(secrets);

const input = z.object({ backupId: z.string().min(1), instance: instanceRef });

export async function handler(event: unknown): Promise<{ ok: true; tables: number; rows: number; differences: 0; target: string }> {
  const { backupId, instance } = parseInput(input, event);
  const target = await verifyTarget(secrets, instance);
  const { report, verification } = await finishVerifyInPlace({ connect: target.connect, store }, { id: backupId, targetName: target.targetName, toolVersion: TOOL.version, maintenanceDatabase: target.maintenanceDatabase }).match(value, stepError);
  if (!report.ok) {
    const where = [...report.tables.filter((t) => !t.ok).map((t) => `table ${t.table}`), ...report.inventory.map((d) => `${d.kind} ${d.name} ${d.problem}`), ...report.sequences.map((s) => `sequence ${s.name}`), ...report.matviews.map((m) => `materialized view ${m.name}`), ...(report.largeObjects.ok ? [] : ["large objects"])];
    throw new StepError("VerifyMismatch", `the restored copy differs from the manifest in ${differencesOf(report)} place(s): ${where.slice(0, 10).join("; ")}${where.length > 10 ? "; ..." : ""}`);
  }
  return { ok: true, tables: verification.tables, rows: verification.rows, differences: 0, target: report.target };
}
