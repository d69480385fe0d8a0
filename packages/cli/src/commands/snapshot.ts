import type { Command } from "commander";
import { awsFlags, type AwsFlags } from "../adapters/aws-flags.js";
import { runCommand } from "./common.js";

export function registerSnapshot(program: Command): void {
  awsFlags(program.command("snapshot").description("take a manual RDS snapshot of an instance and wait until it is available"))
    .requiredOption("--rds-instance <id>", "the instance to snapshot")
    .option("--snapshot-id <id>", "name of the snapshot (default cobalt-<instance>-<time>)")
    .option("--wait-minutes <n>", "give up after n minutes", (v) => Number(v), 120)
    .option("--json", "print the result as one JSON object")
    .action((opts: AwsFlags & { rdsInstance: string; snapshotId?: string; waitMinutes: number; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const [{ awsClients }, { takeSnapshot }] = await Promise.all([import("../adapters/aws-clients.js"), import("@cobalt-backup/core/rds")]);
        const { rds } = awsClients(opts);
        const r = await takeSnapshot(
          { rds, onProgress: (e) => out.progress(`snapshot: ${e.detail ?? e.step}`) },
          { instance: opts.rdsInstance, waitMs: opts.waitMinutes * 60_000, ...(opts.snapshotId ? { snapshotId: opts.snapshotId } : {}), ...(process.env.COBALT_RDS_POLL_MS ? { pollIntervalMs: Number(process.env.COBALT_RDS_POLL_MS) } : {}) },
        );
        if (r.isErr()) return out.failWith(r.error);
        out.result({ snapshotId: r.value.snapshotId, createdAt: r.value.createdAt.toISOString() }, `snapshot ${r.value.snapshotId} of ${opts.rdsInstance} is available`);
      }),
    );
}
