import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { chmod, lstat, lutimes, mkdir, open, readdir, readlink, realpath, rm, symlink, utimes, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { readFilesManifest } from "../catalog/backup-catalog.js";
import { keysMissingError } from "../catalog/open-backup.js";
import type { FilesManifest } from "../manifest/files-manifest.js";
import { keysMissing } from "../object/encoding.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { settle, unexpected, type ResultAsync } from "../result.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { checkAllSeen, checkContent, fail, hashBody, indexEntries, isoMs, matchHeader, readArchive, statMs, type IndexedEntry, type MediaError } from "./media-archive.js";

export interface FilesRestoreProgress {
  phase: "extract" | "check";
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
}

export interface FilesRestoreDeps {
  store: BackupStore;
  /** Keys for an encrypted backup; without them an encrypted backup is refused before anything is read. */
  decryption?: DecryptionKeys;
  onProgress?: (p: FilesRestoreProgress) => void;
}

export interface FilesRestoreInput {
  /** A committed files backup id (resolve `latest` first with `resolveBackupId(store, wanted, "files")`). */
  id: string;
  /** Directory to restore into: it must be empty or absent (it is then created). */
  to: string;
}

export interface FilesRestoreOutput {
  id: string;
  to: string;
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  durationMs: number;
}

/**
 * Restores a files backup into an empty or absent directory: the stored archive's size and sha256
 * are checked as it streams (and again on its own if anything goes wrong, to name a corrupt
 * object), it is decrypted and decompressed, and every entry is checked against the manifest and
 * written without ever following a symlink or leaving `to` (files are created exclusively, never
 * through an existing path). Then every file is read back from disk and its sha256 checked, and
 * modes and mtimes are applied and checked, directories last and deepest first. On failure what
 * was written is removed, so `to` is as it was.
 */
export function restoreFiles(deps: FilesRestoreDeps, input: FilesRestoreInput): ResultAsync<FilesRestoreOutput, MediaError> {
  return settle(runRestore(deps, input), (e): MediaError => unexpected(e, `restoring ${input.id} failed`));
}

/** A files backup's manifest, read and checked; fails with BackupNotFound, NotAFilesBackup or ManifestInvalid. */
export async function readFilesBackup(store: BackupStore, id: string): Promise<FilesManifest> {
  const r = await readFilesManifest(store, id);
  return r.isOk() ? r.value : fail(r.error);
}

/** Fails closed, before anything is read, when the backup is encrypted and no key was given. */
export function requireKeys(manifest: FilesManifest, keys: DecryptionKeys | undefined): void {
  if (keysMissing(manifest.encryption, keys)) fail(keysMissingError(manifest.id, manifest.encryption!, "files backup"));
}

/** Resolves `to` and makes sure it is an empty directory, creating it when absent. */
async function prepareTarget(to: string): Promise<{ dir: string; created: boolean }> {
  const abs = resolve(to);
  let st;
  try {
    st = await lstat(abs);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") return fail({ _tag: "WriteFailed", path: abs, message: `cannot use ${abs} as the restore target: ${causeMessage(e)}` });
    try {
      await mkdir(abs, { recursive: true, mode: 0o700 });
    } catch (e2) {
      return fail({ _tag: "WriteFailed", path: abs, message: `cannot create the restore target ${abs}: ${causeMessage(e2)}` });
    }
    return { dir: abs, created: true };
  }
  const dir = st.isSymbolicLink() ? await realpath(abs).catch(() => abs) : abs;
  const entries = await readdir(dir).catch((e: unknown) =>
    fail({ _tag: "TargetNotEmpty", to: abs, message: `the restore target ${abs} is not a directory this user can read (${(e as { code?: string }).code ?? causeMessage(e)}); give an empty or absent directory` }),
  );
  if (entries.length > 0) {
    fail({ _tag: "TargetNotEmpty", to: abs, message: `the restore target ${abs} is not empty (${entries.length} entr${entries.length === 1 ? "y" : "ies"}, e.g. ${JSON.stringify(entries[0])}); restore-files only writes into an empty or absent directory` });
  }
  return { dir, created: false };
}

async function runRestore(deps: FilesRestoreDeps, input: FilesRestoreInput): Promise<FilesRestoreOutput> {
  const t0 = performance.now();
  const { store } = deps;
  const manifest = await readFilesBackup(store, input.id);
  const keys = deps.decryption;
  requireKeys(manifest, keys);
  const target = await prepareTarget(input.to);
  const to = target.dir;
  const key = manifest.archive.key;
  const abs = (path: string) => join(to, ...path.split("/"));
  const index = indexEntries(manifest);
  /** Directories this restore made (implicit parents too), files and symlinks it wrote. */
  const dirs = new Set<string>();
  const others = new Set<string>();
  const progress: FilesRestoreProgress = { phase: "extract", files: 0, filesTotal: manifest.totals.files, bytes: 0, bytesTotal: manifest.totals.bytes };
  deps.onProgress?.({ ...progress });
  const writeFailed = (path: string, e: unknown): never => fail({ _tag: "WriteFailed", path, message: `writing ${path} into ${to} failed: ${causeMessage(e)}` });

  /** Creates the parents of `path` (only as directories of this restore), never passing through a file or symlink. */
  const ensureParents = async (path: string): Promise<void> => {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (dirs.has(p)) continue;
      if (others.has(p)) fail({ _tag: "UnsafeEntry", path, message: `entry ${JSON.stringify(path)} of ${key} would be written through ${JSON.stringify(p)}, which is not a directory; nothing is written through a symlink` });
      try {
        await mkdir(abs(p), 0o700);
      } catch (e) {
        if ((e as { code?: string }).code === "EEXIST") fail({ _tag: "UnsafeEntry", path, message: `entry ${JSON.stringify(path)} of ${key} would be written through ${JSON.stringify(p)}, which this restore did not create as a directory` });
        writeFailed(p, e);
      }
      dirs.add(p);
    }
  };

  try {
    await readArchive(store, { id: input.id, key, bytes: manifest.archive.bytes, sha256: manifest.archive.sha256, rawBytes: manifest.archive.rawBytes, rawSha256: manifest.archive.rawSha256, compression: manifest.compression, encrypted: Boolean(manifest.encryption) }, keys, async (h, body) => {
      const entry = matchHeader(index, key, h);
      await ensureParents(entry.path);
      const target = abs(entry.path);
      if (entry.kind === "directory") {
        await hashBody(body);
        if (dirs.has(entry.path)) return; // made earlier as a parent
        if (others.has(entry.path)) fail({ _tag: "UnsafeEntry", path: entry.path, message: `directory ${JSON.stringify(entry.path)} of ${key} is already a file or symlink` });
        await mkdir(target, 0o700).catch((e: unknown) => writeFailed(entry.path, e));
        dirs.add(entry.path);
      } else if (entry.kind === "symlink") {
        await hashBody(body);
        await symlink(entry.target!, target).catch((e: unknown) => writeFailed(entry.path, e));
        others.add(entry.path);
      } else {
        let fh: FileHandle;
        try {
          // O_EXCL: never an existing path, and never through a symlink planted at it.
          fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        } catch (e) {
          return writeFailed(entry.path, e);
        }
        others.add(entry.path);
        let got;
        try {
          got = await hashBody(body, async (chunk) => {
            let off = 0;
            while (off < chunk.length) {
              const { bytesWritten } = await fh.write(chunk, off, chunk.length - off).catch((e: unknown) => writeFailed(entry.path, e));
              off += bytesWritten;
            }
            progress.bytes += chunk.length;
          });
        } finally {
          await fh.close().catch(() => {});
        }
        checkContent(key, entry, got);
        progress.files++;
        deps.onProgress?.({ ...progress });
      }
    });
    checkAllSeen(index, key);

    // Check: read every file back from disk, then give files, symlinks, directories (deepest
    // first, after their children) and the target itself their modes and mtimes, checking each.
    progress.phase = "check";
    progress.files = 0;
    progress.bytes = 0;
    deps.onProgress?.({ ...progress });
    const entries = [...index.values()];
    for (const e of entries) {
      if (e.kind === "file") await finishFile(to, e, abs(e.path));
      else if (e.kind === "symlink") await finishSymlink(e, abs(e.path));
      if (e.kind === "file") {
        progress.files++;
        progress.bytes += e.bytes ?? 0;
        deps.onProgress?.({ ...progress });
      }
    }
    const directories = entries.filter((e) => e.kind === "directory").sort((a, b) => b.path.split("/").length - a.path.split("/").length);
    for (const d of directories) await finishDirectory(d, abs(d.path));
    await finishDirectory({ kind: "directory", path: ".", mode: manifest.root.mode, mtimeMs: new Date(manifest.root.mtime).getTime(), seen: true }, to);

    return { id: input.id, to, files: manifest.totals.files, directories: manifest.totals.directories, symlinks: manifest.totals.symlinks, bytes: manifest.totals.bytes, durationMs: Math.round(performance.now() - t0) };
  } catch (e) {
    await removeRestored(to, target.created, [...dirs].map(abs));
    throw e;
  }
}

const checkFailed = (path: string, what: string): never => fail({ _tag: "RestoreCheckFailed", path, message: `restored ${JSON.stringify(path)} ${what}` });

/** Reads a restored file back and checks its sha256, then sets and checks its mode and mtime. */
async function finishFile(to: string, e: IndexedEntry, target: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    return checkFailed(e.path, `cannot be read back from ${to}: ${causeMessage(err)}`);
  }
  try {
    const hash = createHash("sha256");
    let bytes = 0;
    const buf = Buffer.allocUnsafe(256 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, bytes);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    const sha256 = hash.digest("hex");
    if (bytes !== e.bytes || sha256 !== e.sha256) checkFailed(e.path, `reads back as ${bytes} bytes, sha256 ${sha256}; the manifest recorded ${e.bytes} bytes, sha256 ${e.sha256}`);
    await fh.chmod(e.mode!);
    await fh.utimes(new Date(), new Date(e.mtimeMs));
    const st = await fh.stat();
    if ((st.mode & 0o7777) !== e.mode) checkFailed(e.path, `has mode ${(st.mode & 0o7777).toString(8)}, the manifest recorded ${e.mode!.toString(8)}`);
    if (statMs(st.mtimeMs) !== e.mtimeMs) checkFailed(e.path, `has mtime ${isoMs(statMs(st.mtimeMs))}, the manifest recorded ${isoMs(e.mtimeMs)}`);
  } finally {
    await fh.close().catch(() => {});
  }
}

async function finishSymlink(e: IndexedEntry, target: string): Promise<void> {
  await lutimes(target, new Date(), new Date(e.mtimeMs)).catch((err: unknown) => checkFailed(e.path, `cannot be given its mtime: ${causeMessage(err)}`));
  const st = await lstat(target);
  if (!st.isSymbolicLink()) checkFailed(e.path, "is not a symlink");
  const points = await readlink(target);
  if (points !== e.target) checkFailed(e.path, `points to ${JSON.stringify(points)}, the manifest recorded ${JSON.stringify(e.target)}`);
  if (statMs(st.mtimeMs) !== e.mtimeMs) checkFailed(e.path, `has mtime ${isoMs(statMs(st.mtimeMs))}, the manifest recorded ${isoMs(e.mtimeMs)}`);
}

async function finishDirectory(e: IndexedEntry, target: string): Promise<void> {
  const before = await lstat(target);
  if (!before.isDirectory()) checkFailed(e.path, "is not a directory");
  await chmod(target, e.mode!).catch((err: unknown) => checkFailed(e.path, `cannot be given mode ${e.mode!.toString(8)}: ${causeMessage(err)}`));
  await utimes(target, new Date(), new Date(e.mtimeMs)).catch((err: unknown) => checkFailed(e.path, `cannot be given its mtime: ${causeMessage(err)}`));
  const st = await lstat(target);
  if ((st.mode & 0o7777) !== e.mode) checkFailed(e.path, `has mode ${(st.mode & 0o7777).toString(8)}, the manifest recorded ${e.mode!.toString(8)}`);
  if (statMs(st.mtimeMs) !== e.mtimeMs) checkFailed(e.path, `has mtime ${isoMs(statMs(st.mtimeMs))}, the manifest recorded ${isoMs(e.mtimeMs)}`);
}

/** After a failure: removes what this restore wrote, so the target is empty (or absent) again. */
async function removeRestored(to: string, created: boolean, dirs: string[]): Promise<void> {
  // Directories may already have their final (read-only) modes: make them removable first.
  for (const d of dirs) await chmod(d, 0o700).catch(() => {});
  if (created) {
    await chmod(to, 0o700).catch(() => {});
    await rm(to, { recursive: true, force: true }).catch(() => {});
    return;
  }
  const names = await readdir(to).catch(() => [] as string[]);
  for (const n of names) await rm(join(to, n), { recursive: true, force: true }).catch(() => {});
}
