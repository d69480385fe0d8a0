/** A BackupStore in memory, for unit tests of logic above the port (the real stores have their own conformance suite). */
import type { Readable } from "node:stream";
import { Readable as NodeReadable } from "node:stream";
import { errAsync, okAsync, ResultAsync, type BackupStore, type StoreError } from "@cobalt-backup/core";

export interface MemoryStore extends BackupStore {
  objects: Map<string, Buffer>;
}

export function memoryStore(location = "memory://test/"): MemoryStore {
  const objects = new Map<string, Buffer>();
  const missing = (key: string): StoreError => ({ _tag: "ObjectNotFound", key, message: `no object ${key} in ${location}` });
  return {
    location,
    objects,
    checkWritable: () => okAsync(undefined),
    put: (key: string, body: Readable | Buffer) =>
      ResultAsync.fromPromise(
        (async () => {
          const chunks: Buffer[] = [];
          if (Buffer.isBuffer(body)) chunks.push(body);
          else for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
          const data = Buffer.concat(chunks);
          objects.set(key, data);
          return { bytes: data.length };
        })(),
        (e): StoreError => ({ _tag: "StoreIOFailed", key, message: String(e), retryable: false }),
      ),
    get: (key: string) => (objects.has(key) ? okAsync(NodeReadable.from([objects.get(key)!])) : errAsync(missing(key))),
    list: (prefix: string) =>
      okAsync(
        [...objects.entries()]
          .filter(([k]) => k.startsWith(prefix))
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([key, b]) => ({ key, bytes: b.length, modified: new Date(0) })),
      ),
    delete: (keys: readonly string[]) => {
      for (const k of keys) objects.delete(k);
      return okAsync(undefined);
    },
    listUnfinished: () => okAsync([]),
    abortUnfinished: () => okAsync(undefined),
  };
}
