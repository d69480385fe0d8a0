import type { Command } from "commander";
import { backupFiles, resolveBackupId, restoreFiles, type FilesProgress, type FilesRestoreProgress } from "@cobalt-backup/core";
import { decryptionFlags, decryptionKeys, encryptionFlags, encryptionKeys } from "../adapters/age-keys.js";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { bytes, count } from "../output.js";
import { TOOL } from "../version.js";
import { filesProgress, parseCompression, peakRssBytes, runCommand, selectBackup } from "./common.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerFiles(program: Command): void {
  encryptionFlags(storeFlags(program.command("backup-files").description("back up a directory tree (an application's media) as a checksummed, compressed tar archive into a store")))
    .requiredOption("--dir <path>", "the directory to back up (symlinks in it are kept as symlinks)")
    .requiredOption("--dest <store-url>", "where to store it: file:///path/to/dir, a plain directory path, or s3://bucket/prefix")
    .option("--name <name>", "name of the backup, the first part of its id; retention applies per name", "media")
    .option("--compression <kind>", "zstd, gzip or none", parseCompression, "zstd")
    .option("--identity <path>", "with --recipient: an AGE-SECRET-KEY file to read the encrypted archive back and verify it (repeatable)", collect)
    .option("--json", "print the result as one JSON object, logs as JSON lines on stderr")
    .action((opts: StoreFlags & { dir: string; dest: string; name: string; compression: "zstd" | "gzip" | "none"; recipient?: string[]; recipientsFile?: string; passphraseEnv?: string; identity?: string[]; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.dest, "--dest", opts);
        const encryption = encryptionKeys(opts);
        const verifyDecryption = opts.identity?.length ? decryptionKeys({ identity: opts.identity }) : undefined;
        out.event("backup-files.start", { dir: opts.dir, dest: store.location, name: opts.name, compression: opts.compression, encrypted: Boolean(encryption) });
        const r = await backupFiles(
          { store, tool: TOOL, onProgress: filesProgress<FilesProgress>(out, `backup-files ${opts.name}`) },
          { dir: opts.dir, name: opts.name, compression: opts.compression, ...(encryption ? { encryption } : {}), ...(verifyDecryption ? { verifyDecryption } : {}) },
        );
        if (r.isErr()) return out.failWith(r.error, "files backup failed");
        const { id, manifest: m, verification, unverifiedReason } = r.value;
        if (m.skipped.length) out.event("entries.skipped", { count: m.skipped.length, first: m.skipped.slice(0, 5) });
        if (unverifiedReason) out.event("backup-files.unverified", { reason: unverifiedReason });
        out.result(
          { id, location: store.location, files: m.totals.files, directories: m.totals.directories, symlinks: m.totals.symlinks, bytes: m.totals.bytes, storedBytes: m.totals.storedBytes, skipped: m.skipped, verified: verification?.ok === true, ...(unverifiedReason ? { unverifiedReason } : {}), durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes() },
          `files backup ${id} complete: ${count(m.totals.files)} files, ${count(m.totals.directories)} directories, ${count(m.totals.symlinks)} symlinks, ${bytes(m.totals.bytes)} read, ${bytes(m.totals.storedBytes)} stored in ${(m.timings.totalMs / 1000).toFixed(1)} s; ` +
            (verification?.ok ? "verified (read back from the store)" : `not verified: ${unverifiedReason}`) +
            (m.skipped.length ? `\nwarning: ${m.skipped.length} entr${m.skipped.length === 1 ? "y" : "ies"} not backed up (e.g. ${m.skipped[0]!.path}: ${m.skipped[0]!.reason}); see --json for all` : ""),
        );
      }),
    );

  decryptionFlags(storeFlags(selectBackup(program.command("restore-files").description("restore a files backup into an empty or absent directory, checking every file against the manifest"))))
    .requiredOption("--to <dir>", "directory to restore into: empty or absent")
    .option("--json", "print the result as one JSON object, logs as JSON lines on stderr")
    .action((opts: StoreFlags & { from: string; backup: string; to: string; identity?: string[]; passphraseEnv?: string; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const id = await resolveBackupId(store, opts.backup, "files");
        if (id.isErr()) return out.failWith(id.error);
        out.event("restore-files.start", { id: id.value, from: store.location, to: opts.to });
        const r = await restoreFiles(
          { store, decryption: decryptionKeys(opts), onProgress: filesProgress<FilesRestoreProgress>(out, `restore-files ${id.value}`) },
          { id: id.value, to: opts.to },
        );
        if (r.isErr()) return out.failWith(r.error, "restore-files failed");
        const v = r.value;
        out.result(
          { id: v.id, to: v.to, files: v.files, directories: v.directories, symlinks: v.symlinks, bytes: v.bytes, durationMs: v.durationMs },
          `restored ${v.id} into ${v.to}: ${count(v.files)} files, ${count(v.directories)} directories, ${count(v.symlinks)} symlinks, ${bytes(v.bytes)}, every file checked, in ${(v.durationMs / 1000).toFixed(1)} s`,
        );
      }),
    );
}
