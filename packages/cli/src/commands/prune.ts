import { InvalidArgumentError, type Command } from "commander";
import { pruneBackups } from "@cobalt-backup/core";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { table } from "../output.js";
import { runCommand } from "./common.js";

const count = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} expects a whole number`);
  return n;
};

type Opts = StoreFlags & { from: string; keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number; graceHours: number; dryRun?: boolean; json?: boolean };

export function registerPrune(program: Command): void {
  storeFlags(program.command("prune").description("apply a retention policy (restic semantics) to the complete, verified backups of a store, and remove what interrupted runs left"))
    .requiredOption("--from <store-url>", "the store to prune")
    .option("--keep-last <n>", "keep the n newest verified backups", count("--keep-last"))
    .option("--keep-daily <n>", "keep the newest verified backup of each of the last n days that have one", count("--keep-daily"))
    .option("--keep-weekly <n>", "likewise for ISO weeks", count("--keep-weekly"))
    .option("--keep-monthly <n>", "likewise for calendar months", count("--keep-monthly"))
    .option("--grace-hours <n>", "remove unfinished backups (no manifest) and unfinished uploads (S3 multipart uploads, temporary files) only once older than this; without any --keep-* prune removes only these", count("--grace-hours"), 24)
    .option("--dry-run", "show what would be removed, remove nothing")
    .option("--json", "print the decisions as one JSON object")
    .action((opts: Opts) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const given = [opts.keepLast, opts.keepDaily, opts.keepWeekly, opts.keepMonthly].some((k) => k !== undefined);
        const policy = { keepLast: opts.keepLast, keepDaily: opts.keepDaily, keepWeekly: opts.keepWeekly, keepMonthly: opts.keepMonthly };
        const r = await pruneBackups({ store, now: () => new Date() }, { ...(given ? { policy } : {}), dryRun: Boolean(opts.dryRun), graceMs: opts.graceHours * 3_600_000 });
        if (r.isErr()) return out.failWith(r.error);
        const { decisions, removedObjects, dryRun, unfinished } = r.value;
        for (const d of decisions.filter((x) => x.action === "damaged")) out.event("backup.damaged", { id: d.id, reason: d.reasons.join("; ") }, "warn");
        const verb = (a: string) => (a === "remove" ? (dryRun ? "would remove" : "removed") : a);
        const n = (action: string) => decisions.filter((d) => d.action === action).length;
        const aborted = unfinished.filter((u) => u.action === "remove").length;
        out.result(
          { dryRun, removedObjects, decisions, unfinished },
          [
            ...(decisions.length ? [table(["backup", "action", "why"], decisions.map((d) => [d.id, verb(d.action), d.reasons.join("; ")]))] : []),
            ...(unfinished.length ? [table(["unfinished upload", "started", "action"], unfinished.map((u) => [u.key, u.started, u.action === "remove" ? verb("remove") : "kept (within the grace period)"]))] : []),
            `${n("remove")} backup(s) ${dryRun ? "would be removed (dry run)" : `removed (${removedObjects} objects)`}, ${n("keep")} kept, ${n("locked")} locked, ${n("damaged")} damaged; ` +
              `${aborted} unfinished upload(s) ${dryRun ? "would be removed" : "removed"}, ${unfinished.length - aborted} kept`,
          ].join("\n"),
        );
      }),
    );
}
