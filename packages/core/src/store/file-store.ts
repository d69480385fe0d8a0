import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { ResultAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import type { BackupStore, StoreError, StoredObject } from "./backup-store.js";

const PARTIAL = ".partial-";

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

/** A directory as a BackupStore (`file:///var/backups/cobalt`). Objects are files; `put` writes a temporary file and renames it. */
export function fileStore(url: string): BackupStore {
  const root = fileURLToPath(url);
  const path = (key: string) => join(root, ...key.split("/"));
  const ioError = (key: string) => (cause: unknown): StoreError => {
    const code = (cause as { code?: string }).code;
    if (code === "ENOENT") return { _tag: "ObjectNotFound", key, message: `no object ${key} in ${url}` };
    return { _tag: "StoreIOFailed", key, message: `${key} in ${url}: ${causeMessage(cause)}`, retryable: false };
  };

  return {
    location: url,
    checkWritable: () =>
      ResultAsync.fromPromise(
        (async () => {
          await mkdirp(root);
          const probe = join(root, `.cobalt-write-check-${randomBytes(6).toString("hex")}`);
          await writeFile(probe, "");
          await unlink(probe);
        })(),
        (cause): StoreError => ({
          _tag: "StoreUnwritable",
          location: url,
          message: `cannot write to ${url}: ${causeMessage(cause)}; choose a --dest directory this user can create and write`,
        }),
      ),
    put: (key, body) =>
      ResultAsync.fromPromise(
        (async () => {
          const target = path(key);
          await mkdirp(dirname(target));
          const temp = `${target}${PARTIAL}${randomBytes(6).toString("hex")}`;
          try {
            await pipeline(body, createWriteStream(temp, { flags: "wx" }));
            await rename(temp, target);
          } catch (e) {
            await rm(temp, { force: true });
            throw e;
          }
          return { bytes: (await stat(target)).size };
        })(),
        ioError(key),
      ),
    get: (key) =>
      ResultAsync.fromPromise(
        new Promise<Readable>((resolve, reject) => {
          const s = createReadStream(path(key));
          s.once("open", () => resolve(s));
          s.once("error", reject);
        }),
        ioError(key),
      ),
    list: (prefix) =>
      ResultAsync.fromPromise(
        (async () => {
          const out: StoredObject[] = [];
          const walk = async (dir: string): Promise<void> => {
            let entries;
            try {
              entries = await readdir(dir, { withFileTypes: true });
            } catch (e) {
              if ((e as { code?: string }).code === "ENOENT") return;
              throw e;
            }
            for (const e of entries) {
              const full = join(dir, e.name);
              if (e.isDirectory()) await walk(full);
              else if (e.isFile() && !e.name.includes(PARTIAL) && !e.name.startsWith(".cobalt-write-check-")) {
                const key = relative(root, full).split(sep).join("/");
                if (!key.startsWith(prefix)) continue;
                const s = await stat(full);
                out.push({ key, bytes: s.size, modified: s.mtime });
              }
            }
          };
          await walk(root);
          return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        })(),
        ioError(prefix),
      ),
    delete: (keys) =>
      ResultAsync.fromPromise(
        (async () => {
          for (const k of keys) await rm(path(k), { force: true });
        })(),
        ioError(keys[0] ?? ""),
      ),
  };
}
