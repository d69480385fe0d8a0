import type { Command } from "commander";
import { VERIFIED_KEY, readManifest, recordVerification, resolveBackupId, verifyRestore, type VerifyReport } from "@cobalt-backup/core";
import { openScratch } from "../adapters/scratch-target.js";
import { decryptionFlags, decryptionKeys } from "../adapters/age-keys.js";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, count, table, type Output } from "../output.js";
import { TOOL } from "../version.js";
import { parseJobs, restoreProgress, runCommand, selectBackup } from "./common.js";

export function registerVerify(program: Command): void {
  decryptionFlags(storeFlags(selectBackup(program.command("verify").description("prove a backup restores: restore it into a scratch database and compare it with the manifest"))))
    .option("--target <database>", "server to create the scratch database on, as psql -d takes it (default: an embedded PostgreSQL)")
    .option("--jobs <n>", "parallel jobs for the restore and the read-back", parseJobs, 2)
    .option("--json", "print the report as one JSON object, logs as JSON lines on stderr")
    .action((opts: StoreFlags & { identity?: string[]; passphraseEnv?: string; from: string; backup: string; target?: string; jobs: number; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const id = await resolveBackupId(store, opts.backup);
        if (id.isErr()) return out.fail(id.error.message, EXIT.usage, { tag: id.error._tag });
        const manifest = await readManifest(store, id.value);
        if (manifest.isErr()) return out.fail(manifest.error.message, EXIT.failed, { tag: manifest.error._tag });
        out.event("verify.start", { id: id.value, from: store.location, scratch: opts.target ? "server of --target" : "embedded PostgreSQL" });
        const scratch = await openScratch(opts.target, Math.floor(manifest.value.source.serverVersionNum / 10000));
        try {
          const r = await verifyRestore(
            { connect: scratch.target.connect, store, decryption: decryptionKeys(opts), onProgress: restoreProgress(out, `verify ${id.value}`) },
            { id: id.value, jobs: opts.jobs, targetName: `scratch ${scratch.target.database}`, toolVersion: TOOL.version },
          );
          if (r.isErr()) return out.fail(`verify failed: ${r.error.message}`, EXIT.verifyFailed, { tag: r.error._tag });
          // A read-only key cannot record the result: the verdict still stands and decides the exit code.
          const recorded = r.value.ok ? await recordVerification({ store }, r.value, new Date()) : undefined;
          if (recorded?.isErr()) {
            process.stderr.write(`cobalt-backup: warning: could not record the verdict as ${VERIFIED_KEY} in ${store.location} (a read-only key?): ${recorded.error.message}; the verdict stands, but list will not show it\n`);
          }
          report(out, r.value, recorded ? { recorded: recorded.isOk(), ...(recorded.isErr() ? { recordError: recorded.error.message } : {}) } : {});
        } finally {
          await scratch.dispose();
        }
      }),
    );
}

export function report(out: Output, r: VerifyReport, extra: Record<string, unknown> = {}): void {
  const rows = r.tables.map((t) => [t.table, count(t.expectedRows), count(t.rows), t.sha256.slice(0, 12), t.ok ? "ok" : "DIFFERENT"]);
  const lines = [table(["table", "manifest rows", "restored rows", "sha256", "result"], rows)];
  for (const d of r.inventory) lines.push(`schema: ${d.kind} ${d.name} is ${d.problem}`);
  for (const s of r.sequences) lines.push(`sequence ${s.name}: expected ${s.expected}, restored ${s.actual}`);
  for (const m of r.matviews) lines.push(`materialized view ${m.name}: populated expected ${m.expected}, restored ${m.actual}`);
  if (!r.definitionsCompared) lines.push("note: written by another cobalt-backup version; schema objects compared by kind and name only");
  lines.push(`large objects: ${r.largeObjects.actual}/${r.largeObjects.expected} ${r.largeObjects.ok ? "ok" : "DIFFERENT"}`);
  const summary = r.ok
    ? `verified ${r.id}: ${r.tables.length} tables, ${count(r.tables.reduce((s, t) => s + t.rows, 0))} rows, schema inventory ${r.definitionsCompared ? "identical" : "complete"}`
    : `verification of ${r.id} FAILED: ${r.tables.filter((t) => !t.ok).length} table(s), ${r.inventory.length} schema object(s), ${r.sequences.length} sequence(s) differ`;
  lines.push(summary);
  if (r.ok) out.result({ report: r, ...extra }, lines.join("\n"));
  else {
    process.stdout.write(`${lines.join("\n")}\n`);
    out.fail(summary, EXIT.verifyFailed, { tag: "VerifyMismatch", report: r });
  }
}
