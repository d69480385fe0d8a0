import type { Command } from "commander";
import { awsFlags, type AwsFlags } from "../adapters/aws-flags.js";
import { table } from "../output.js";
import { runCommand } from "./common.js";

export function registerCleanup(program: Command): void {
  awsFlags(program.command("cleanup").description("delete temporary RDS instances this tool tagged whose expiry has passed (after a crashed run)"))
    .option("--dry-run", "show what would be deleted, delete nothing")
    .option("--json", "print the decisions as one JSON object")
    .action((opts: AwsFlags & { dryRun?: boolean; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const [{ awsClients }, { cleanupExpired }] = await Promise.all([import("../adapters/aws-clients.js"), import("@cobalt-backup/core/rds")]);
        const { rds } = awsClients(opts);
        const r = await cleanupExpired({ rds }, { dryRun: Boolean(opts.dryRun) });
        if (r.isErr()) return out.failWith(r.error);
        const deleted = r.value.filter((d) => d.action === "delete").length;
        out.result(
          { dryRun: Boolean(opts.dryRun), decisions: r.value },
          r.value.length
            ? `${table(["instance", "action", "why"], r.value.map((d) => [d.instance, d.action === "delete" && opts.dryRun ? "would delete" : d.action, d.reason]))}\n${deleted} expired temporary instance(s) ${opts.dryRun ? "would be deleted (dry run)" : "deleted"}`
            : "no temporary instances of cobalt-backup in this account and region",
        );
      }),
    );
}
