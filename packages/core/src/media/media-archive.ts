import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { tarStream } from "./tar-stream.js";
import type { Header } from "tar-stream";
import { backupPrefix } from "../object/backup-id.js";
import type { Compression } from "../object/compression.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { readObject, storedMismatch } from "../object/read-object.js";
import { Failure, failWith, type Fail, type Unexpected } from "../result.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { IntegrityError } from "../util/meter.js";

/** Why a files backup or restore stopped. Nothing is committed (no manifest) after a backup error. */
export type MediaError =
  | { _tag: "SourceNotFound"; dir: string; message: string }
  | { _tag: "ReadFailed"; path: string; message: string }
  | { _tag: "NameInUse"; name: string; message: string }
  | { _tag: "StoreFailed"; storeError: StoreError; message: string }
  | { _tag: "BackupNotFound"; id: string; message: string }
  | { _tag: "NotAFilesBackup"; id: string; message: string }
  | { _tag: "ManifestInvalid"; id: string; message: string }
  /** The backup is encrypted and no identity or passphrase was given: nothing was read. */
  | { _tag: "KeysMissing"; id: string; recipients: string[]; passphrase: boolean; message: string }
  | { _tag: "DecryptionFailed"; key: string; message: string }
  /** The stored archive's bytes differ from the manifest (size or sha256): it is corrupt. */
  | { _tag: "IntegrityFailed"; key: string; message: string }
  /** The archive could be read but an entry in it differs from the manifest, or is missing. */
  | { _tag: "EntryMismatch"; key: string; path: string; message: string }
  /** An entry that would escape the target (absolute path, `..`, through a symlink) or is of a kind never written. */
  | { _tag: "UnsafeEntry"; path: string; message: string }
  | { _tag: "TargetNotEmpty"; to: string; message: string }
  | { _tag: "WriteFailed"; path: string; message: string }
  /** After extraction a restored entry, read back from disk, differs from the manifest. */
  | { _tag: "RestoreCheckFailed"; path: string; message: string }
  | Unexpected;

export const fail: Fail<MediaError> = failWith();
const failed = (e: unknown): MediaError | undefined => (e instanceof Failure ? (e.error as MediaError) : undefined);

/** `mtime` in ms as a pax decimal of seconds (`1700000000.123`), which GNU tar and bsdtar read. */
export const paxSeconds = (ms: number): string => (ms / 1000).toFixed(3);

/** The mtime an entry of ours carries, in whole milliseconds: the pax `mtime` record, else the ustar seconds. */
export function headerMtimeMs(h: Header): number {
  const pax = h.pax as Record<string, string> | null | undefined;
  const fromPax = pax?.mtime !== undefined ? Number(pax.mtime) : NaN;
  return Number.isFinite(fromPax) ? Math.round(fromPax * 1000) : h.mtime.getTime();
}

/** Whole milliseconds of a stat's mtime (`utimes` takes float seconds, so sub-ms parts do not survive anyway). */
export const statMs = (mtimeMs: number): number => Math.round(mtimeMs);
export const isoMs = (ms: number): string => new Date(ms).toISOString();

/**
 * The path of a tar entry as a safe relative path (`a/b/c`), or undefined when it is absolute,
 * climbs with `..`, is empty, or holds a NUL: such an entry is never written.
 */
export function safeRelativePath(name: string): string | undefined {
  if (name.startsWith("/") || name.includes("\0")) return undefined;
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.some((p) => p === "..")) return undefined;
  return parts.join("/");
}

export interface ArchiveRef {
  /** The backup id (`media/20260101T000000.000Z`). */
  id: string;
  /** Key of the archive inside the backup, its stored size and digest, its raw (tar) size and digest. */
  key: string;
  bytes: number;
  sha256: string;
  rawBytes: number;
  rawSha256: string;
  compression: Compression;
  encrypted: boolean;
}

/** One entry of an archive being read: the header and its body, to be read to the end. */
export type EntryHandler = (header: Header, body: AsyncIterable<Buffer>) => Promise<void>;

/**
 * Streams a stored archive as tar entries: the stored bytes are checked against `ref` (size and
 * sha256, at the end), decrypted when the archive is encrypted, decompressed, and the raw tar is
 * checked too. `onEntry` sees each entry in order and must read its body. When anything fails
 * while streaming, the stored object is hashed once more on its own, so that a corrupt object is
 * reported as such (naming it) even when decompression or an entry check noticed first.
 */
export async function readArchive(store: BackupStore, ref: ArchiveRef, keys: DecryptionKeys | undefined, onEntry: EntryHandler): Promise<void> {
  const location = `${backupPrefix(ref.id)}${ref.key}`;
  const where = `files backup ${ref.id} in ${store.location}`;
  const opened = await readObject(store, location, ref, { compression: ref.compression, encrypted: ref.encrypted, ...(keys ? { keys } : {}) });
  if (opened.isErr()) {
    const e = opened.error;
    if (e._tag === "StoreFailed") fail({ _tag: "StoreFailed", storeError: e.storeError, message: `reading ${ref.key} of ${ref.id}: ${e.message}` });
    if (e._tag === "ObjectCorrupt") fail({ _tag: "IntegrityFailed", key: ref.key, message: `${e.message} (${where})` });
    fail({ _tag: "DecryptionFailed", key: ref.key, message: `cannot decrypt ${ref.key} of files backup ${ref.id}: ${e.reason}` });
  }
  const raw = opened.isOk() ? opened.value : (undefined as never);
  try {
    await forEachEntry(raw, onEntry);
  } catch (e) {
    raw.destroy();
    if (e instanceof IntegrityError) fail({ _tag: "IntegrityFailed", key: ref.key, message: `${e.message} (${where})` });
    const tag = failed(e)?._tag;
    if (tag === "WriteFailed" || tag === "UnsafeEntry") throw e;
    // Decompression, decryption, tar parsing or an entry check failed: is the stored object intact?
    const corrupt = await storedMismatch(store, location, ref);
    if (corrupt) fail({ _tag: "IntegrityFailed", key: ref.key, message: `object ${ref.key} is corrupt: ${corrupt} (${where})` });
    if (tag) throw e;
    fail({ _tag: "IntegrityFailed", key: ref.key, message: `object ${ref.key} of files backup ${ref.id} cannot be read as an archive: ${causeMessage(e)}` });
  }
}

/** Feeds a raw tar stream to tar-stream's parser and hands every entry to `onEntry`, one at a time. */
async function forEachEntry(raw: Readable, onEntry: EntryHandler): Promise<void> {
  const ex = (await tarStream()).extract();
  ex.on("error", () => {}); // surfaces through the iteration below
  let feedError: unknown;
  const feeding = (async () => {
    try {
      for await (const chunk of raw as AsyncIterable<Buffer>) {
        if (ex.destroyed) return;
        if (!ex.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              ex.off("drain", done);
              ex.off("close", done);
              resolve();
            };
            ex.on("drain", done);
            ex.on("close", done);
          });
        }
      }
      (ex as unknown as { end(): void }).end();
    } catch (e) {
      feedError = e;
      ex.destroy(e as Error);
    }
  })();
  try {
    for await (const entry of ex) await onEntry(entry.header, entry as unknown as AsyncIterable<Buffer>);
  } catch (e) {
    // The source failing first (integrity, decompression) is the cause of what the parser saw after it;
    // what the feeder sees once it is stopped here is not.
    const prior = feedError;
    ex.destroy();
    raw.destroy();
    await feeding;
    throw prior ?? e;
  }
  await feeding;
  if (feedError) throw feedError;
}

/** Reads an entry's body to the end, hashing it. */
export async function hashBody(body: AsyncIterable<Buffer>, sink?: (chunk: Buffer) => Promise<void>): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    hash.update(chunk);
    if (sink) await sink(chunk);
  }
  return { bytes, sha256: hash.digest("hex") };
}

/** Expected state of one entry, from the manifest, with whether the archive has shown it yet. */
export interface IndexedEntry {
  kind: "file" | "directory" | "symlink";
  path: string;
  mtimeMs: number;
  mode?: number;
  bytes?: number;
  sha256?: string;
  target?: string;
  seen: boolean;
}

/** Every entry a files manifest lists, by path. */
export function indexEntries(m: {
  files: readonly { path: string; bytes: number; sha256: string; mode: number; mtime: string }[];
  directories: readonly { path: string; mode: number; mtime: string }[];
  symlinks: readonly { path: string; target: string; mtime: string }[];
}): Map<string, IndexedEntry> {
  const index = new Map<string, IndexedEntry>();
  const ms = (iso: string) => new Date(iso).getTime();
  for (const d of m.directories) index.set(d.path, { kind: "directory", path: d.path, mode: d.mode, mtimeMs: ms(d.mtime), seen: false });
  for (const f of m.files) index.set(f.path, { kind: "file", path: f.path, mode: f.mode, bytes: f.bytes, sha256: f.sha256, mtimeMs: ms(f.mtime), seen: false });
  for (const l of m.symlinks) index.set(l.path, { kind: "symlink", path: l.path, target: l.target, mtimeMs: ms(l.mtime), seen: false });
  return index;
}

const KIND_OF_TYPE: Partial<Record<Header["type"], IndexedEntry["kind"]>> = { file: "file", "contiguous-file": "file", directory: "directory", symlink: "symlink" };

/**
 * The manifest entry a tar header stands for, after checking that its path is safe and that its
 * kind, size, mode, mtime and link target are what the manifest recorded. Throws an UnsafeEntry or
 * EntryMismatch failure naming the archive and the entry.
 */
export function matchHeader(index: Map<string, IndexedEntry>, key: string, h: Header): IndexedEntry {
  const path = safeRelativePath(h.name);
  if (path === undefined) return fail({ _tag: "UnsafeEntry", path: h.name, message: `archive ${key} holds an entry with an unsafe path (${JSON.stringify(h.name)}): absolute or climbing with '..'; nothing is written outside the target` });
  const mismatch = (what: string): never => fail({ _tag: "EntryMismatch", key, path, message: `entry ${JSON.stringify(path)} of ${key} ${what}` });
  const entry = index.get(path);
  if (!entry) return mismatch("is not in the manifest");
  if (entry.seen) return mismatch("appears twice");
  const kind = KIND_OF_TYPE[h.type];
  if (kind !== entry.kind) return mismatch(`is a ${h.type} in the archive, a ${entry.kind} in the manifest`);
  if (entry.mode !== undefined && (h.mode & 0o7777) !== entry.mode) return mismatch(`has mode ${(h.mode & 0o7777).toString(8)}, the manifest recorded ${entry.mode.toString(8)}`);
  if (headerMtimeMs(h) !== entry.mtimeMs) return mismatch(`has mtime ${isoMs(headerMtimeMs(h))}, the manifest recorded ${isoMs(entry.mtimeMs)}`);
  if (kind === "file" && h.size !== entry.bytes) return mismatch(`has ${h.size} bytes, the manifest recorded ${entry.bytes}`);
  if (kind === "symlink" && h.linkname !== entry.target) return mismatch(`points to ${JSON.stringify(h.linkname)}, the manifest recorded ${JSON.stringify(entry.target)}`);
  entry.seen = true;
  return entry;
}

/** Fails unless a file's content, as read, is what the manifest recorded. */
export function checkContent(key: string, entry: IndexedEntry, got: { bytes: number; sha256: string }): void {
  if (got.bytes !== entry.bytes || got.sha256 !== entry.sha256) {
    fail({ _tag: "EntryMismatch", key, path: entry.path, message: `file ${JSON.stringify(entry.path)} in ${key} does not match the manifest: ${got.bytes} bytes, sha256 ${got.sha256}; recorded ${entry.bytes} bytes, sha256 ${entry.sha256}` });
  }
}

/** Fails when the archive ended without an entry the manifest lists. */
export function checkAllSeen(index: Map<string, IndexedEntry>, key: string): void {
  for (const e of index.values()) {
    if (!e.seen) fail({ _tag: "EntryMismatch", key, path: e.path, message: `archive ${key} has no entry ${JSON.stringify(e.path)}, which the manifest lists` });
  }
}

/**
 * Reads a stored archive back and checks it against its manifest: the stored and raw digests, and
 * every entry's path, kind, mode, mtime and content, with none missing. `onFile` runs after each
 * file checked. Fails with the MediaError that names what differs.
 */
export async function checkArchive(store: BackupStore, manifest: Parameters<typeof indexEntries>[0], ref: ArchiveRef, keys: DecryptionKeys | undefined, onFile?: (bytes: number) => void): Promise<void> {
  const index = indexEntries(manifest);
  await readArchive(store, ref, keys, async (h, body) => {
    const entry = matchHeader(index, ref.key, h);
    const got = await hashBody(body);
    if (entry.kind === "file") {
      checkContent(ref.key, entry, got);
      onFile?.(got.bytes);
    }
  });
  checkAllSeen(index, ref.key);
}
