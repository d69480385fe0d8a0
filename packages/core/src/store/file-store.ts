import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { ResultAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import type { BackupStore, StoreError, StoredObject, UnfinishedUpload } from "./backup-store.js";

const PARTIAL = ".partial-";
const WRITE_CHECK = ".cobalt-write-check-";

/** `mkdir -p` that cannot spin: Node's recursive mkdir loops forever under /proc and /sys. */
async function mkdirp(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "EEXIST") {
      if ((await stat(dir)).isDirectory()) return;
      throw e;
    }
    const parent = dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw e;
    await mkdirp(parent);
    await mkdir(dir).catch((again: { code?: string }) => {
      if (again.code !== "EEXIST") throw again;
    });
  }
}

/** Removes `dir` and its parents while they are empty, up to (not including) `root`. */
async function removeEmptyDirs(root: string, dir: string): Promise<void> {
  for (let d = dir; d !== root && d.startsWith(`${root}${sep}`); d = dirname(d)) {
    try {
      await rmdir(d);
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") continue;
      return; // not empty (or not ours to remove): its parents are not empty either
    }
  }
}

/**
 * A directory as a BackupStore (`file:///var/backups/cobalt`). Objects are files; `put` writes a
 * temporary `<name>.partial-<random>` file and renames it once complete. Deleting the last object
 * of a directory removes the directory too, so a removed backup leaves no empty folders.
 */
export function fileStore(url: string): BackupStore {
  const root = fileURLToPath(url).replace(/\/+$/, "") || "/";
  const path = (key: string) => join(root, ...key.split("/"));
  // Directories this store made or found: a backup writes hundreds of objects into one, and each
  // mkdir that fails with EEXIST, then a stat, cost more than writing a small table's object.
  // Removing empty directories forgets them all.
  const made = new Set<string>();
  // Temporary names: random per store, then counted (random bytes per object cost more than a
  // small table's write); another writer's names differ in the random part.
  const writer = randomBytes(6).toString("hex");
  let written = 0;
  const ensureDir = async (dir: string): Promise<void> => {
    if (made.has(dir)) return;
    await mkdirp(dir);
    made.add(dir);
  };
  const removeEmpty = (dir: string): Promise<void> => {
    made.clear();
    return removeEmptyDirs(root, dir);
  };
  const ioError = (what: string, key: string) => (cause: unknown): StoreError => {
    const code = (cause as { code?: string }).code;
    if (code === "ENOENT" && key) return { _tag: "ObjectNotFound", key, message: `no object ${key} in ${url}` };
    return { _tag: "StoreIOFailed", key, message: `${what} in ${url}: ${causeMessage(cause)}`, retryable: false };
  };
  /** Every file and empty directory under the root, relative keys, `/`-separated. */
  const walk = async (onFile: (key: string, full: string, name: string) => Promise<void>, onEmptyDir?: (key: string, full: string) => Promise<void>) => {
    const visit = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") return;
        throw e;
      }
      const key = (full: string) => relative(root, full).split(sep).join("/");
      if (entries.length === 0 && dir !== root) await onEmptyDir?.(`${key(dir)}/`, dir);
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await visit(full);
        else if (e.isFile()) await onFile(key(full), full, e.name);
      }
    };
    await visit(root);
  };

  return {
    location: url,
    checkWritable: () =>
      ResultAsync.fromPromise(
        (async () => {
          await mkdirp(root);
          const probe = join(root, `${WRITE_CHECK}${randomBytes(6).toString("hex")}`);
          await writeFile(probe, "");
          await unlink(probe);
        })(),
        (cause): StoreError => ({
          _tag: "StoreUnwritable",
          location: url,
          message: `cannot write to ${url}: ${causeMessage(cause)}`,
        }),
      ),
    put: (key, body, opts = {}) =>
      ResultAsync.fromPromise(
        (async () => {
          const target = path(key);
          await ensureDir(dirname(target));
          const temp = `${target}${PARTIAL}${writer}-${++written}`;
          // Another process may have removed the directory since it was made: make it again.
          const again = async <T>(create: () => Promise<T>): Promise<T> =>
            create().catch(async (e: { code?: string }) => {
              if (e.code !== "ENOENT") throw e;
              made.delete(dirname(target));
              await ensureDir(dirname(target));
              return create();
            });
          const signal = opts.signal ? { signal: opts.signal } : {};
          try {
            let bytes: number;
            if (Buffer.isBuffer(body)) {
              // Bytes in memory: one write, without a stream per object (most tables are small).
              await again(() => writeFile(temp, body, { flag: "wx", ...signal }));
              bytes = body.length;
            } else {
              const file = createWriteStream("", { fd: await again(() => open(temp, "wx")) });
              await pipeline(body, file, ...(opts.signal ? [signal] : []));
              // What the file system took: every write returned its count before the file closed.
              bytes = file.bytesWritten;
            }
            await rename(temp, target);
            return { bytes };
          } catch (e) {
            await rm(temp, { force: true });
            await removeEmpty(dirname(target));
            throw e;
          }
        })(),
        ioError(`writing ${key}`, key),
      ),
    get: (key) =>
      ResultAsync.fromPromise(
        new Promise<Readable>((resolve, reject) => {
          const s = createReadStream(path(key));
          s.once("open", () => resolve(s));
          s.once("error", reject);
        }),
        ioError(`reading ${key}`, key),
      ),
    list: (prefix) =>
      ResultAsync.fromPromise(
        (async () => {
          const out: StoredObject[] = [];
          await walk(async (key, full, name) => {
            if (name.includes(PARTIAL) || name.startsWith(WRITE_CHECK) || !key.startsWith(prefix)) return;
            const s = await stat(full);
            out.push({ key, bytes: s.size, modified: s.mtime });
          });
          return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        })(),
        ioError("listing", ""),
      ),
    delete: (keys) =>
      ResultAsync.fromPromise(
        (async () => {
          for (const k of keys) await rm(path(k), { force: true });
          for (const dir of new Set(keys.map((k) => dirname(path(k))))) await removeEmpty(dir);
        })(),
        ioError(`deleting ${keys.length} object(s)`, ""),
      ),
    listUnfinished: (prefix) =>
      ResultAsync.fromPromise(
        (async () => {
          const out: UnfinishedUpload[] = [];
          const add = async (key: string, full: string) => {
            if (key.startsWith(prefix)) out.push({ key, started: (await stat(full)).mtime });
          };
          await walk(async (key, full, name) => (name.includes(PARTIAL) || name.startsWith(WRITE_CHECK) ? add(key, full) : undefined), add);
          return out.sort((a, b) => (a.key < b.key ? -1 : 1));
        })(),
        ioError("listing unfinished uploads", ""),
      ),
    abortUnfinished: (uploads) =>
      ResultAsync.fromPromise(
        (async () => {
          for (const u of uploads) {
            const full = path(u.key.replace(/\/$/, ""));
            if (u.key.endsWith("/")) await removeEmpty(full);
            else {
              await rm(full, { force: true });
              await removeEmpty(dirname(full));
            }
          }
        })(),
        ioError(`removing ${uploads.length} unfinished upload(s)`, ""),
      ),
  };
}
