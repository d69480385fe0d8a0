import { z } from "zod";

/**
 * A files backup: one directory tree (an application's media) as one tar archive, compressed and
 * optionally age-encrypted, beside a manifest that lists every entry with its digest. It lives in
 * the same store, under the same `<name>/<timestamp>/` ids, as database backups, so `list` and
 * `prune` treat both alike; the manifest's `format` tells them apart.
 */
export const FILES_MANIFEST_FORMAT = "cobalt-backup-files/1";
/** The archive's key inside the backup, before the compression and `.age` suffixes. */
export const FILES_ARCHIVE_BASE = "files.tar";

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** Permission bits, setuid/setgid/sticky included (`mode & 0o7777`). */
const mode = z.number().int().min(0).max(0o7777);
/** Modification time, ISO 8601 with milliseconds. */
const mtime = z.string();

export const filesEntrySchema = z.object({
  /** Path relative to the backed-up directory, `/`-separated, never absolute, never `..`. */
  path: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256,
  mode,
  mtime,
});
export const directoryEntrySchema = z.object({ path: z.string(), mode, mtime });
export const symlinkEntrySchema = z.object({ path: z.string(), target: z.string(), mtime });

export const filesManifestSchema = z.object({
  format: z.literal(FILES_MANIFEST_FORMAT),
  tool: z.object({ name: z.string(), version: z.string() }),
  id: z.string(),
  startedAt: z.string(),
  completedAt: z.string(),
  source: z.object({
    kind: z.literal("directory"),
    /** The name the backup's id starts with (`media`). */
    name: z.string(),
    /** The directory as given to the backup, for messages. */
    dir: z.string(),
  }),
  compression: z.enum(["zstd", "gzip", "none"]),
  /** Never set for files backups today; kept so prune reads the same field on every manifest. */
  lockUntil: z.string().nullable().optional(),
  /** age encryption of the archive: public recipients only, never keys. */
  encryption: z.object({ format: z.literal("age"), recipients: z.array(z.string()), passphrase: z.boolean() }).nullable(),
  /** The archive as stored (`bytes`, `sha256`) and as a plain tar (`rawBytes`, `rawSha256`). */
  archive: z.object({
    key: z.string(),
    bytes: z.number().int().nonnegative(),
    sha256,
    rawBytes: z.number().int().nonnegative(),
    rawSha256: sha256,
  }),
  /** Mode and mtime of the backed-up directory itself, given to the restore target. */
  root: z.object({ mode, mtime }),
  totals: z.object({
    files: z.number().int().nonnegative(),
    directories: z.number().int().nonnegative(),
    symlinks: z.number().int().nonnegative(),
    /** Sum of the regular files' sizes. */
    bytes: z.number().int().nonnegative(),
    storedBytes: z.number().int().nonnegative(),
  }),
  files: z.array(filesEntrySchema),
  directories: z.array(directoryEntrySchema),
  symlinks: z.array(symlinkEntrySchema),
  /** Entries that are not files, directories or symlinks (sockets, FIFOs, devices): not backed up. */
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  timings: z.object({ archiveMs: z.number(), verifyMs: z.number(), totalMs: z.number() }),
});

export type FilesManifest = z.infer<typeof filesManifestSchema>;
export type FilesEntry = z.infer<typeof filesEntrySchema>;
export type DirectoryEntry = z.infer<typeof directoryEntrySchema>;
export type SymlinkEntry = z.infer<typeof symlinkEntrySchema>;

/**
 * `verified.json` of a files backup: written only after the stored archive was read back from the
 * store, its size and sha256 matched, and every entry inside it matched the manifest.
 */
export const filesVerificationSchema = z.object({
  verifiedAt: z.string(),
  ok: z.boolean(),
  /** What was checked, in words. */
  target: z.string(),
  files: z.number().int(),
  bytes: z.number().int(),
  /** Why it failed: the corruption or difference found. */
  problem: z.string().optional(),
});
export type FilesVerification = z.infer<typeof filesVerificationSchema>;

/** Whether a parsed manifest.json (of unknown kind) is a files backup's. */
export const isFilesManifest = (v: unknown): boolean =>
  typeof v === "object" && v !== null && (v as { format?: unknown }).format === FILES_MANIFEST_FORMAT;
