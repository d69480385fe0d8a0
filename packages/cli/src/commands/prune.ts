import { InvalidArgumentError, type Command } from "commander";
import { pruneBackups } from "@cobalt-backup/core";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, table } from "../output.js";
import { runCommand } from "./common.js";

const count = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} expects a whole number`);
  return n;
};

export function registerPrune(program: Command): void {
  storeFlags(program.command("prune").description("apply a retention policy (restic semantics) to the complete, verified backups of a store"))
    .requiredOption("--from <store-url>", "the store to prune")
    .option("--keep-last <n>", "keep the n newest verified backups", count("--keep-last"))
    .option("--keep-daily <n>", "keep the newest verified backup of each of the last n days that have one", count("--keep-daily"))
    .option("--keep-weekly <n>", "likewise for ISO weeks", count("--keep-weekly"))
    .option("--keep-monthly <n>", "likewise for calendar months", count("--keep-monthly"))
    .option("--grace-hours <n>", "remove unfinished backups (no manifest) only once older than this", count("--grace-hours"), 24)
    .option("--dry-run", "show what would be removed, remove nothing")
    .option("--json", "print the decisions as one JSON object")
    .action((opts: StoreFlags & { from: string; keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number; graceHours: number; dryRun?: boolean; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const r = await pruneBackups(
          { store, now: () => new Date() },
          { policy: { keepLast: opts.keepLast, keepDaily: opts.keepDaily, keepWeekly: opts.keepWeekly, keepMonthly: opts.keepMonthly }, dryRun: Boolean(opts.dryRun), graceMs: opts.graceHours * 3_600_000 },
        );
        if (r.isErr()) return out.fail(r.error.message, r.error._tag === "EmptyPolicy" ? EXIT.usage : EXIT.failed, { tag: r.error._tag });
        const { decisions, removedObjects, dryRun } = r.value;
        const verb = (a: string) => (a === "remove" ? (dryRun ? "would remove" : "removed") : a);
        out.result(
          { dryRun, removedObjects, decisions },
          `${table(["backup", "action", "why"], decisions.map((d) => [d.id, verb(d.action), d.reasons.join("; ")]))}\n` +
            `${decisions.filter((d) => d.action === "remove").length} backup(s) ${dryRun ? "would be removed (dry run)" : `removed (${removedObjects} objects)`}, ${decisions.filter((d) => d.action === "keep").length} kept, ${decisions.filter((d) => d.action === "locked").length} locked`,
        );
      }),
    );
}
