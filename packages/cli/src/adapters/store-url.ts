import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { fileStore, type BackupStore } from "@cobalt-backup/core";
import { UsageError } from "./postgres-url.js";

/** Builds the store a `--dest` / `--from` value names: `file:///dir` (or a plain path). */
export function storeFromUrl(value: string, flag: string): BackupStore {
  if (value.startsWith("file://")) return fileStore(value);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new UsageError(`${flag} ${value.replace(/\/\/[^@/]*@/, "//***@")}: unsupported store; use file:///path/to/dir`);
  }
  return fileStore(pathToFileURL(resolve(value)).href);
}
