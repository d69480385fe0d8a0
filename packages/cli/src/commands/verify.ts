import type { Command } from "commander";
import { VERIFIED_KEY, backupKind, failureKind, readManifest, recordFailedVerification, recordVerification, resolveBackupId, restoreSpaceNeeded, tagOf, verifyFiles, verifyRestore, type VerifyReport } from "@cobalt-backup/core";
import { openScratch } from "../adapters/scratch-target.js";
import { decryptionFlags, decryptionKeys } from "../adapters/age-keys.js";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, bytes, count, table, type Output } from "../output.js";
import { TOOL } from "../version.js";
import { filesProgress, parseJobs, restoreProgress, runCommand, selectBackup } from "./common.js";

type Opts = StoreFlags & { identity?: string[]; passphraseEnv?: string; from: string; backup: string; target?: string; scratchDir?: string; jobs: number; json?: boolean };

export function registerVerify(program: Command): void {
  decryptionFlags(storeFlags(selectBackup(program.command("verify").description("prove a backup: a database backup is restored into a scratch database and compared with the manifest, a files backup read back and every file checked"))))
    .option("--target <database>", "server to create the scratch database on, as psql -d takes it (default: an embedded PostgreSQL)")
    .option("--scratch-dir <dir>", "directory for the embedded scratch PostgreSQL (default: the system's temporary directory); it needs about the database's size free")
    .option("--jobs <n>", "parallel jobs for the restore and the read-back", parseJobs, 2)
    .option("--json", "print the report as one JSON object, logs as JSON lines on stderr")
    .action((opts: Opts) =>
      runCommand(
        opts,
        async (out, signal) => {
          const store = await storeFromUrl(opts.from, "--from", opts);
          // `latest` is the newest database backup; a name (`media/latest`) or an id may be of either kind.
          const id = await resolveBackupId(store, opts.backup, opts.backup === "latest" ? "database" : "any");
          if (id.isErr()) return out.failWith(id.error);
          const kind = await backupKind(store, id.value);
          if (kind.isErr()) return out.failWith(kind.error);
          if (kind.value === "files") return verifyFilesBackup(out, opts, store, id.value);

          const manifest = await readManifest(store, id.value);
          if (manifest.isErr()) return out.failWith(manifest.error);
          out.event("verify.start", { id: id.value, from: store.location, scratch: opts.target ? "server of --target" : "embedded PostgreSQL" });
          const scratch = await openScratch(opts.target, { sourceMajor: Math.floor(manifest.value.source.serverVersionNum / 10000), bytes: restoreSpaceNeeded(manifest.value) }, opts.scratchDir);
          const targetName = `scratch ${scratch.target.database}`;
          try {
            const r = await verifyRestore(
              { connect: scratch.target.connect, store, decryption: decryptionKeys(opts), onProgress: restoreProgress(out, `verify ${id.value}`), signal },
              { id: id.value, jobs: opts.jobs, targetName, toolVersion: TOOL.version },
            );
            if (r.isErr()) {
              // A corrupt or missing object proves the backup bad: `list` shows it failed, not unverified.
              if (failureKind(tagOf(r.error)) === "backup-defect") {
                const recorded = await recordFailedVerification({ store }, id.value, targetName, r.error.message, new Date());
                if (recorded.isErr()) warnUnrecorded(store.location, recorded.error.message);
              }
              return out.failWith(r.error, "verify failed");
            }
            // A read-only key cannot record the result: the verdict still stands and decides the exit code.
            const recorded = await recordVerification({ store }, r.value, new Date());
            if (recorded.isErr()) warnUnrecorded(store.location, recorded.error.message);
            report(out, r.value, { recorded: recorded.isOk(), ...(recorded.isErr() ? { recordError: recorded.error.message } : {}) });
          } finally {
            await scratch.dispose();
          }
        },
        { interruptible: true },
      ),
    );
}

async function verifyFilesBackup(out: Output, opts: Opts, store: Parameters<typeof verifyFiles>[0]["store"], id: string): Promise<void> {
  out.event("verify.start", { id, from: store.location, kind: "files" });
  const r = await verifyFiles({ store, decryption: decryptionKeys(opts), onProgress: filesProgress(out, `verify ${id}`) }, { id });
  if (r.isErr()) return out.failWith(r.error, "verify failed");
  out.result({ report: { id, kind: "files", ...r.value } }, `verified ${id}: ${count(r.value.files)} files, ${bytes(r.value.bytes)}, read back from the store and every file's sha256 matched`);
}

function warnUnrecorded(location: string, reason: string): void {
  process.stderr.write(`cobalt-backup: warning: could not record the verdict as ${VERIFIED_KEY} in ${location} (a read-only key?): ${reason}; the verdict stands, but list will not show it\n`);
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
    out.text(lines.join("\n"));
    out.fail(summary, EXIT.backupBad, { tag: "VerifyMismatch", report: r });
  }
}
