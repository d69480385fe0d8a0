/** Schemas of the references the states pass to each other: ids and endpoints, never data or secrets. */
import { z } from "zod";
import type { InstanceRef, SnapshotRef } from "@cobalt-backup/core/rds";

export const snapshotRef = z.object({
  sourceInstance: z.string().min(1),
  snapshotId: z.string().min(1),
  snapshotTime: z.string(),
  engineVersion: z.string().optional(),
  subnetGroup: z.string().optional(),
  securityGroupIds: z.array(z.string()).optional(),
  masterUsername: z.string().optional(),
  database: z.string().optional(),
}) satisfies z.ZodType<SnapshotRef>;

export const instanceRef = z.object({
  instanceId: z.string().min(1),
  sourceInstance: z.string(),
  snapshotId: z.string(),
  backupId: z.string().optional(),
  resumed: z.boolean().optional(),
  status: z.string().optional(),
  phase: z.enum(["available", "working", "failed"]).optional(),
  host: z.string().optional(),
  port: z.number().int().optional(),
  username: z.string().optional(),
  database: z.string().optional(),
  engineVersion: z.string().optional(),
  secretId: z.string().optional(),
}) satisfies z.ZodType<InstanceRef>;

/** What FindSnapshot returns and every later state reads at `$.run`. */
export const runRef = z.object({
  backupId: z.string().min(1),
  /** The temporary instance's name, known before it exists, so a failure at any later state can delete it. */
  instanceId: z.string().min(1),
  database: z.string().min(1),
  snapshot: snapshotRef,
});
export type RunRef = z.infer<typeof runRef>;
