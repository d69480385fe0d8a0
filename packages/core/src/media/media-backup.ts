import { constants, type Stats } from "node:fs";
import { lstat, open, readdir, readlink, stat, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { tarStream } from "./tar-stream.js";
import type { Header, Pack } from "tar-stream";
import { readJson } from "../catalog/backup-catalog.js";
import { FILES_ARCHIVE_BASE, FILES_MANIFEST_FORMAT, isFilesManifest, type DirectoryEntry, type FilesEntry, type FilesManifest, type FilesVerification, type SymlinkEntry } from "../manifest/files-manifest.js";
import { MANIFEST_KEY, VERIFIED_KEY } from "../manifest/manifest.js";
import { backupPrefix, newBackupId } from "../object/backup-id.js";
import type { Compression } from "../object/compression.js";
import { encryptionRecord, encrypts, objectSuffix } from "../object/encoding.js";
import type { DecryptionKeys, EncryptionKeys } from "../object/encryption.js";
import { storedDigest } from "../object/read-object.js";
import { writeObject } from "../object/write-object.js";
import { Failure, settle, unexpected, type ResultAsync } from "../result.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { readableOf } from "../util/readable.js";
import { checkArchive, fail, hashBody, isoMs, paxSeconds, statMs, type ArchiveRef, type MediaError } from "./media-archive.js";

export interface FilesProgress {
  phase: "archive" | "verify" | "commit";
  /** Regular files archived (or checked, in the verify phase) so far, of about `filesTotal`. */
  files: number;
  filesTotal: number;
  /** File bytes read so far, of about `bytesTotal`. */
  bytes: number;
  bytesTotal: number;
  storedBytes: number;
}

export interface FilesBackupDeps {
  store: BackupStore;
  tool: { name: string; version: string };
  now?: () => Date;
  onProgress?: (p: FilesProgress) => void;
}

export interface FilesBackupInput {
  /** The directory tree to back up; symlinks inside it are stored as symlinks, never followed. */
  dir: string;
  /** The name the backup id starts with (`media` gives `media/<timestamp>`); retention applies per name. */
  name: string;
  compression: Compression;
  compressionLevel?: number;
  /** Encrypt the archive for these age recipients (on whenever given). */
  encryption?: EncryptionKeys;
  /**
   * Keys to read an encrypted archive back for the post-upload check. Without them (and without a
   * passphrase in `encryption`) only the stored bytes are checked and no `verified.json` is written.
   */
  verifyDecryption?: DecryptionKeys;
}

export interface FilesBackupOutput {
  id: string;
  manifest: FilesManifest;
  /** What `verified.json` records; null when the archive could not be fully checked (see `unverifiedReason`). */
  verification: FilesVerification | null;
  unverifiedReason?: string;
}

/**
 * Backs up a directory tree into a store as one streamed tar archive (pax headers: UTF-8 and long
 * names, millisecond mtimes), compressed and optionally age-encrypted, at
 * `<name>/<timestamp>/files.tar.zst[.age]`. Every file is hashed as it streams; the manifest lists
 * every entry. After the upload the archive is read back from the store and checked (its sha256,
 * then every entry inside it against the manifest); then `manifest.json` commits the backup and
 * `verified.json` records the check. On any failure what was written is deleted and no manifest exists.
 */
export function backupFiles(deps: FilesBackupDeps, input: FilesBackupInput): ResultAsync<FilesBackupOutput, MediaError> {
  return settle(runBackup(deps, input), (e): MediaError => unexpected(e, "files backup failed"));
}

interface Collected {
  files: FilesEntry[];
  directories: DirectoryEntry[];
  symlinks: SymlinkEntry[];
  skipped: { path: string; reason: string }[];
}

async function runBackup(deps: FilesBackupDeps, input: FilesBackupInput): Promise<FilesBackupOutput> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  const root = resolve(input.dir);
  let rootStat: Stats;
  try {
    rootStat = await stat(root);
  } catch (e) {
    return fail({ _tag: "SourceNotFound", dir: root, message: `cannot read directory ${root}: ${causeMessage(e)}` });
  }
  if (!rootStat.isDirectory()) fail({ _tag: "SourceNotFound", dir: root, message: `${root} is not a directory` });
  const writable = await deps.store.checkWritable();
  if (writable.isErr()) fail({ _tag: "StoreFailed", storeError: writable.error, message: writable.error.message });

  const id = newBackupId(input.name, started);
  const name = id.slice(0, id.indexOf("/"));
  await ensureNameIsFiles(deps.store, name);
  const prefix = backupPrefix(id);
  const encrypted = encrypts(input.encryption);
  const archiveKey = `${FILES_ARCHIVE_BASE}${objectSuffix(input)}`;
  const written: string[] = [];
  let committed = false;

  try {
    const estimate = await estimateTree(root);
    const progress: FilesProgress = { phase: "archive", files: 0, filesTotal: estimate.files, bytes: 0, bytesTotal: estimate.bytes, storedBytes: 0 };
    deps.onProgress?.({ ...progress });

    // Archive: walk -> tar -> count+hash -> compress -> [encrypt] -> count+hash -> store.
    const tar = (await tarStream()).pack();
    tar.on("error", () => {}); // reported by the producer and the pipeline that reads it
    const collected: Collected = { files: [], directories: [], symlinks: [], skipped: [] };
    const producing = packTree(root, tar, collected, (bytes, fileDone) => {
      progress.bytes += bytes;
      if (fileDone) progress.files++;
      deps.onProgress?.({ ...progress });
    }).then(
      () => tar.finalize(),
      (e: unknown) => {
        tar.destroy(e instanceof Error ? e : new Error(String(e)));
        throw e;
      },
    );
    const source = Readable.from(tar as AsyncIterable<Buffer>, { objectMode: false });
    // An estimate for multipart part sizes: the tar is about the files' size plus headers.
    const writing = writeObject(deps.store, `${prefix}${archiveKey}`, source, { compression: input.compression, compressionLevel: input.compressionLevel, encryption: input.encryption, expectedBytes: estimate.bytes + estimate.entries * 1536 + 10_240, onStored: (b) => void (progress.storedBytes += b) });
    const produced = await producing.then(() => undefined, (e: unknown) => ({ e }));
    const uploaded = await writing;
    // A read failure is the cause of everything after it; a store failure is the cause of a broken pipe.
    if (produced?.e instanceof Failure) throw produced.e;
    if (uploaded.isErr()) {
      const e = uploaded.error;
      if (e._tag === "StoreFailed") fail({ _tag: "StoreFailed", storeError: e.storeError, message: `writing ${archiveKey} of ${id}: ${e.message}` });
      else fail({ _tag: "ReadFailed", path: root, message: `archiving ${root} failed: ${causeMessage(e.cause)}` });
    }
    if (produced) fail({ _tag: "ReadFailed", path: root, message: `archiving ${root} failed: ${causeMessage(produced.e)}` });
    const archive = uploaded.isOk() ? uploaded.value : (undefined as never);
    written.push(archive.key);
    const storedBytes = archive.bytes;
    const archiveMs = performance.now() - t0;

    const manifest: FilesManifest = {
      format: FILES_MANIFEST_FORMAT,
      tool: deps.tool,
      id,
      startedAt: started.toISOString(),
      completedAt: started.toISOString(),
      source: { kind: "directory", name: input.name, dir: root },
      compression: input.compression,
      lockUntil: null,
      encryption: encryptionRecord(input.encryption),
      archive: { key: archiveKey, bytes: storedBytes, sha256: archive.sha256, rawBytes: archive.rawBytes, rawSha256: archive.rawSha256 },
      root: { mode: rootStat.mode & 0o7777, mtime: isoMs(statMs(rootStat.mtimeMs)) },
      totals: {
        files: collected.files.length,
        directories: collected.directories.length,
        symlinks: collected.symlinks.length,
        bytes: collected.files.reduce((s, f) => s + f.bytes, 0),
        storedBytes,
      },
      files: collected.files,
      directories: collected.directories,
      symlinks: collected.symlinks,
      skipped: collected.skipped,
      timings: { archiveMs: Math.round(archiveMs), verifyMs: 0, totalMs: 0 },
    };

    // Verify: read the archive back from the store and check it against the manifest.
    progress.phase = "verify";
    progress.files = 0;
    progress.bytes = 0;
    deps.onProgress?.({ ...progress });
    const ref: ArchiveRef = { id, key: archiveKey, bytes: storedBytes, sha256: manifest.archive.sha256, rawBytes: archive.rawBytes, rawSha256: archive.rawSha256, compression: input.compression, encrypted };
    const verifyKeys = input.verifyDecryption ?? (encrypted && input.encryption!.passphrase ? { identities: [], passphrase: input.encryption!.passphrase } : undefined);
    const v0 = performance.now();
    let unverifiedReason: string | undefined;
    if (encrypted && !verifyKeys) {
      const digest = await storedDigest(deps.store, `${prefix}${archiveKey}`);
      if (!digest || digest.bytes !== ref.bytes || digest.sha256 !== ref.sha256) {
        fail({ _tag: "IntegrityFailed", key: archiveKey, message: `object ${archiveKey} of ${id}, read back from ${deps.store.location}, is not what was written${digest ? ` (${digest.bytes} bytes, sha256 ${digest.sha256})` : ""}` });
      }
      unverifiedReason = "the archive is encrypted and no identity was given to read it back: its stored bytes were checked, the files inside were not";
    } else {
      await checkArchive(deps.store, manifest, ref, verifyKeys, (bytes) => {
        progress.files++;
        progress.bytes += bytes;
        deps.onProgress?.({ ...progress });
      });
    }
    const verifyMs = performance.now() - v0;

    // Commit: the backup exists once, and only once, manifest.json does.
    progress.phase = "commit";
    deps.onProgress?.({ ...progress });
    const completed = now();
    manifest.completedAt = completed.toISOString();
    manifest.timings = { archiveMs: Math.round(archiveMs), verifyMs: Math.round(verifyMs), totalMs: Math.round(performance.now() - t0) };
    const committing = await deps.store.put(`${prefix}${MANIFEST_KEY}`, readableOf(JSON.stringify(manifest, null, 2)));
    if (committing.isErr()) fail({ _tag: "StoreFailed", storeError: committing.error, message: `writing ${MANIFEST_KEY} of ${id}: ${committing.error.message}` });
    committed = true;

    let verification: FilesVerification | null = null;
    if (!unverifiedReason) {
      const record: FilesVerification = {
        verifiedAt: now().toISOString(),
        ok: true,
        target: `${archiveKey} read back from ${deps.store.location}: sha256 of the stored object and of every file inside it match the manifest`,
        files: manifest.totals.files,
        bytes: manifest.totals.bytes,
      };
      const r = await deps.store.put(`${prefix}${VERIFIED_KEY}`, readableOf(JSON.stringify(record, null, 2)));
      if (r.isOk()) verification = record;
      else unverifiedReason = `the archive was checked, but recording it in ${VERIFIED_KEY} failed: ${r.error.message}`;
    }
    return { id, manifest, verification, ...(unverifiedReason ? { unverifiedReason } : {}) };
  } finally {
    // Best effort: what cannot be deleted now is an unfinished backup, which prune collects.
    if (!committed && written.length > 0) await deps.store.delete(written).match(() => {}, () => {});
  }
}

/**
 * Retention and `latest` work per name: a files backup must not share its name with database
 * backups, or prune would weigh one kind against the other.
 */
async function ensureNameIsFiles(store: BackupStore, name: string): Promise<void> {
  const listed = await store.list(`${name}/`);
  if (listed.isErr()) fail({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
  const manifests = (listed.isOk() ? listed.value : []).filter((o) => o.key.split("/").length === 3 && o.key.endsWith(`/${MANIFEST_KEY}`));
  const newest = manifests[manifests.length - 1];
  if (!newest) return;
  const m = await readJson(store, newest.key, (v) => v);
  if (m.isOk() && !isFilesManifest(m.value)) {
    fail({ _tag: "NameInUse", name, message: `${store.location} holds database backups named ${name}; give the files backup another name` });
  }
}

/** About how many entries and file bytes the tree holds, for progress and multipart part sizes. Errors are ignored here. */
async function estimateTree(root: string): Promise<{ entries: number; files: number; bytes: number }> {
  const total = { entries: 0, files: 0, bytes: 0 };
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      total.entries++;
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        total.files++;
        total.bytes += await lstat(full).then((s) => s.size, () => 0);
      }
    }
  };
  await walk(root);
  return total;
}

/** Raised when the tar stream stops taking entries (the store or compression failed downstream). */
class PackClosed extends Error {
  constructor() {
    super("the archive stream closed");
  }
}

const HEADER_ID_LIMIT = 0o777777;

/** Adds one entry to the pack and resolves once it is fully written; `write` feeds a file's body. */
function addEntry(tar: Pack, header: Header | (Partial<Header> & { name: string })): { sink: ReturnType<Pack["entry"]>; done: Promise<void> } {
  let sink!: ReturnType<Pack["entry"]>;
  const done = new Promise<void>((res, rej) => {
    sink = tar.entry(header, (err) => (err ? rej(err) : res()));
  });
  // Failures reach the caller through `done`; without a listener a destroyed sink's 'error' would crash the process.
  sink.on("error", () => {});
  done.catch(() => {});
  return { sink, done };
}

async function write(sink: ReturnType<Pack["entry"]>, chunk: Buffer): Promise<void> {
  if (sink.destroyed) throw new PackClosed();
  if (sink.write(chunk)) return;
  await new Promise<void>((res, rej) => {
    const drained = () => {
      sink.off("close", closed);
      res();
    };
    const closed = () => {
      sink.off("drain", drained);
      rej(new PackClosed());
    };
    sink.once("drain", drained);
    sink.once("close", closed);
  });
}

/** Header fields every entry of ours has: mode with permission bits, ms mtime in pax, owner ids when they fit. */
const common = (st: Stats, mtimeMs: number) => ({
  // The full st_mode: tar-stream keeps `mode & 0o7777`, and a mode of 0 would be replaced by a default.
  mode: st.mode,
  mtime: new Date(mtimeMs),
  ...(st.uid < HEADER_ID_LIMIT && st.gid < HEADER_ID_LIMIT ? { uid: st.uid, gid: st.gid } : {}),
  pax: { mtime: paxSeconds(mtimeMs) },
});

/**
 * Walks the tree depth-first in name order (lstat: symlinks are entries, never followed) and adds
 * every directory, regular file and symlink to the pack, hashing files as they stream. Other kinds
 * (sockets, FIFOs, devices), names that are not UTF-8 and entries that vanish mid-walk are listed
 * as skipped. A file that shrinks while it is read fails the backup.
 */
async function packTree(root: string, tar: Pack, out: Collected, onBytes: (bytes: number, fileDone: boolean) => void): Promise<void> {
  const readFailed = (path: string, e: unknown): never => fail({ _tag: "ReadFailed", path, message: `cannot read ${path} in ${root}: ${causeMessage(e)}` });
  const gone = (e: unknown) => ["ENOENT", "ENOTDIR"].includes((e as { code?: string }).code ?? "");

  const addFile = async (abs: string, rel: string): Promise<void> => {
    let fh: FileHandle;
    try {
      fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (gone(e) || code === "ELOOP") return void out.skipped.push({ path: rel, reason: "removed or replaced while the backup ran" });
      return readFailed(rel, e);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) return void out.skipped.push({ path: rel, reason: "replaced while the backup ran" });
      const size = st.size;
      const mtimeMs = statMs(st.mtimeMs);
      const { sink, done } = addEntry(tar, { name: rel, type: "file", size, ...common(st, mtimeMs) });
      const { bytes, sha256 } = await hashBody(size > 0 ? readRange(fh, size, rel, readFailed) : emptyBody(), async (chunk) => {
        await write(sink, chunk);
        onBytes(chunk.length, false);
      });
      if (bytes !== size) fail({ _tag: "ReadFailed", path: rel, message: `${rel} in ${root} shrank from ${size} to ${bytes} bytes while it was read; run the backup again` });
      (sink as unknown as { end(): void }).end();
      await done;
      out.files.push({ path: rel, bytes, sha256, mode: st.mode & 0o7777, mtime: isoMs(mtimeMs) });
      onBytes(0, true);
    } finally {
      await fh.close().catch(() => {});
    }
  };

  const walk = async (absDir: string, relDir: string): Promise<void> => {
    let names: Buffer[];
    try {
      names = await readdir(absDir, { encoding: "buffer" });
    } catch (e) {
      if (relDir && gone(e)) return void out.skipped.push({ path: relDir, reason: "removed while the backup ran" });
      return readFailed(relDir || ".", e);
    }
    const decoded = names.map((b) => ({ b, s: b.toString("utf8") })).sort((x, y) => (x.s < y.s ? -1 : x.s > y.s ? 1 : 0));
    for (const { b, s } of decoded) {
      const rel = relDir ? `${relDir}/${s}` : s;
      if (!Buffer.from(s, "utf8").equals(b)) {
        out.skipped.push({ path: rel, reason: "name is not valid UTF-8" });
        continue;
      }
      const abs = join(absDir, s);
      let st: Stats;
      try {
        st = await lstat(abs);
      } catch (e) {
        if (gone(e)) {
          out.skipped.push({ path: rel, reason: "removed while the backup ran" });
          continue;
        }
        return readFailed(rel, e);
      }
      const mtimeMs = statMs(st.mtimeMs);
      if (st.isDirectory()) {
        await addEntry(tar, { name: `${rel}/`, type: "directory", ...common(st, mtimeMs) }).done;
        out.directories.push({ path: rel, mode: st.mode & 0o7777, mtime: isoMs(mtimeMs) });
        await walk(abs, rel);
      } else if (st.isSymbolicLink()) {
        let target: string;
        try {
          target = await readlink(abs);
        } catch (e) {
          if (gone(e)) {
            out.skipped.push({ path: rel, reason: "removed while the backup ran" });
            continue;
          }
          return readFailed(rel, e);
        }
        await addEntry(tar, { name: rel, type: "symlink", linkname: target, ...common(st, mtimeMs) }).done;
        out.symlinks.push({ path: rel, target, mtime: isoMs(mtimeMs) });
      } else if (st.isFile()) {
        await addFile(abs, rel);
      } else {
        const kind = st.isSocket() ? "socket" : st.isFIFO() ? "FIFO" : st.isBlockDevice() ? "block device" : st.isCharacterDevice() ? "character device" : "special file";
        out.skipped.push({ path: rel, reason: `${kind}: not backed up` });
      }
    }
  };
  await walk(root, "");
}

async function* emptyBody(): AsyncGenerator<Buffer> {}

/** Exactly the first `size` bytes of an open file (a file that grew is cut at the size its header records). */
async function* readRange(fh: FileHandle, size: number, rel: string, readFailed: (path: string, e: unknown) => never): AsyncGenerator<Buffer> {
  const chunk = 256 * 1024;
  let position = 0;
  while (position < size) {
    const buf = Buffer.allocUnsafe(Math.min(chunk, size - position));
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, 0, buf.length, position));
    } catch (e) {
      return readFailed(rel, e);
    }
    if (n === 0) return;
    position += n;
    yield n === buf.length ? buf : buf.subarray(0, n);
  }
}
