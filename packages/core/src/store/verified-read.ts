import { pipeline, type Readable } from "node:stream";
import { decompressor, type Compression } from "../dump/compression.js";
import { backupPrefix } from "./backup-id.js";
import type { BackupStore, StoreError } from "./backup-store.js";
import { Verifier } from "../util/meter.js";
import type { ResultAsync } from "../result.js";

export interface ObjectRef {
  key: string;
  bytes: number;
  sha256: string;
  rawBytes?: number;
  rawSha256?: string;
}

/**
 * Opens one object of a backup as its original (decompressed) bytes. The stored bytes are checked
 * against the manifest's size and sha256, and so are the decompressed ones when recorded; a
 * mismatch errors the stream at its end (an `IntegrityError` naming the object), so whatever
 * consumes it (COPY FROM inside a transaction) aborts instead of committing.
 */
export function openVerified(store: BackupStore, id: string, ref: ObjectRef, compression: Compression): ResultAsync<Readable, StoreError> {
  return store.get(`${backupPrefix(id)}${ref.key}`).map((body) => {
    const stages: NodeJS.ReadWriteStream[] = [new Verifier(ref.key, ref), decompressor(compression)];
    if (ref.rawSha256 !== undefined && ref.rawBytes !== undefined) stages.push(new Verifier(ref.key, { bytes: ref.rawBytes, sha256: ref.rawSha256 }));
    return pipeline(body, ...(stages as [NodeJS.ReadWriteStream]), () => {}) as unknown as Readable;
  });
}
