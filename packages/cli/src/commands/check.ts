import type { Command } from "commander";
import { VERIFIED_KEY, CHECKED_KEY, checkBackups, damageSummary, describeReadData, parseReadData, recordChecks, resolveBackupId, type CheckProgress } from "@cobalt-backup/core";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { UsageError } from "../usage-error.js";
import { EXIT, bytes, count, table, type Output } from "../output.js";
import { parseJobs, runCommand } from "./common.js";

type Opts = StoreFlags & { from: string; backup?: string; all?: boolean; readData?: boolean; readDataSubset?: string; jobs: number; json?: boolean };

export function registerCheck(program: Command): void {
  storeFlags(program.command("check").description("check that backups are whole in the store without restoring them: every object their manifests list is there at its recorded size; with --read-data each is read back and its sha256 compared (no keys needed)"))
    .requiredOption("--from <store-url>", "the store to check")
    .option("--backup <id>", "check one backup (database or files): an id, <source>/latest, or latest")
    .option("--all", "check every backup in the store (the default)")
    .option("--read-data", "read every object back and compare its sha256 with the manifest's")
    .option("--read-data-subset <percent>", "read a random sample of the objects, this share of the stored bytes (10%): another sample each time")
    .option("--jobs <n>", "objects read in parallel", parseJobs, 2)
    .option("--json", "print the report as one JSON object, logs as JSON lines on stderr")
    .action((opts: Opts) =>
      runCommand(opts, async (out) => {
        if (opts.backup && opts.all) throw new UsageError("give --backup <id> or --all, not both");
        if (opts.readData && opts.readDataSubset) throw new UsageError("give --read-data or --read-data-subset, not both");
        const readData = parseReadData(opts.readDataSubset ?? Boolean(opts.readData));
        if (!readData) throw new UsageError(`--read-data-subset ${opts.readDataSubset}: expected a percentage above 0 and at most 100, such as 10%`);
        const store = await storeFromUrl(opts.from, "--from", opts);
        let backups: string[] | "all" = "all";
        if (opts.backup) {
          const id = await resolveBackupId(store, opts.backup, "any");
          if (id.isErr()) return out.failWith(id.error);
          backups = [id.value];
        }
        const r = await checkBackups({ store, jobs: opts.jobs, onProgress: progress(out) }, { backups, readData });
        if (r.isErr()) return out.failWith(r.error, "check failed");
        // A read-only key cannot record the verdict: it stands all the same and decides the exit code.
        const recorded = await recordChecks(store, r.value, new Date());
        if (recorded.isErr()) out.event("check.not-recorded", { reason: `could not record the verdicts as ${CHECKED_KEY} (and ${VERIFIED_KEY} of damaged backups): ${recorded.error.message}` }, "warn");
        const c = r.value;
        const lines = [
          table(["backup", "kind", "objects", "read", "result"], c.backups.map((b) => [b.id, b.kind, `${count(b.objects)} (${bytes(b.bytes)})`, `${count(b.objectsRead)} (${bytes(b.bytesRead)})`, b.ok ? "ok" : "DAMAGED"])),
          ...c.backups.flatMap((b) => b.damage.map((d) => `damaged: ${d.message}`)),
        ];
        if (c.ok) return out.result({ report: c }, [...lines, `checked ${c.backups.length} backup(s) in ${c.location}: ${describeReadData(c.readData)}, no damage`].join("\n"));
        out.text(lines.join("\n"));
        out.fail(damageSummary(c), EXIT.backupBad, { tag: "DamageFound", report: c });
      }),
    );
}

function progress(out: Output): (p: CheckProgress) => void {
  return (p) => {
    const reading = p.reading ? ` · ${p.reading}` : "";
    out.progress(`check: manifests ${p.backupsListed}/${p.backupsTotal} · objects read ${p.objectsRead}/${p.objectsToRead} · ${bytes(p.bytesRead)} of ${bytes(p.bytesToRead)}${reading}`);
    if (p.reading) out.tick("check.progress", { ...p });
  };
}
