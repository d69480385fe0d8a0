import { createHash } from "node:crypto";
import { pipeline, type Readable } from "node:stream";
import { ResultAsync, err, ok, type Result } from "../result.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { IntegrityError, Verifier } from "../util/meter.js";
import { decompressor, type Compression } from "./compression.js";
import { DecryptionError, decryptedStream, type DecryptionKeys } from "./encryption.js";

/** An object as a manifest records it: its stored size and sha256, and its raw ones where known. */
export interface StoredRef {
  key: string;
  bytes: number;
  sha256: string;
  rawBytes?: number;
  rawSha256?: string;
}

/** How to turn the stored bytes back into the original ones. */
export interface ObjectDecoding {
  compression: Compression;
  encrypted: boolean;
  keys?: DecryptionKeys;
}

/** Why an object could not be opened. Corruption found while streaming errors the stream instead (an IntegrityError). */
export type ReadObjectError =
  /** The store could not give it (missing, out of reach). */
  | { _tag: "StoreFailed"; key: string; storeError: StoreError; message: string }
  /** No key given opens it, and its stored bytes are not what was written: the object is bad, not the key. */
  | { _tag: "ObjectCorrupt"; key: string; message: string }
  /** No key given opens it, and it is intact: the wrong key, or none. */
  | { _tag: "DecryptionFailed"; key: string; reason: string; message: string };

/**
 * Opens one stored object as its original bytes: `get`, the stored bytes checked against the
 * ref's size and sha256, decrypted when encrypted, decompressed, and checked again when the raw
 * digest is known. A mismatch errors the stream at its end with an `IntegrityError` naming the
 * object, so a consumer (COPY FROM in a transaction, a tar parser) aborts instead of committing.
 * `location` is the object's key in the store; `ref.key` names it in messages.
 */
export function readObject(store: BackupStore, location: string, ref: StoredRef, decoding: ObjectDecoding): ResultAsync<Readable, ReadObjectError> {
  return new ResultAsync(open(store, location, ref, decoding));
}

async function open(store: BackupStore, location: string, ref: StoredRef, decoding: ObjectDecoding): Promise<Result<Readable, ReadObjectError>> {
  const got = await store.get(location);
  if (got.isErr()) return err({ _tag: "StoreFailed", key: ref.key, storeError: got.error, message: got.error.message });
  const body = got.value;
  let stream: Readable = pipeline(body, new Verifier(ref.key, ref), () => {}) as unknown as Readable;
  if (decoding.encrypted) {
    try {
      stream = await decryptedStream(stream, decoding.keys ?? { identities: [] });
    } catch (e) {
      body.destroy();
      const reason = e instanceof DecryptionError ? e.message : causeMessage(e);
      // No key opens it: a wrong key, or a corrupt object, which its stored digest tells.
      const corrupt = await storedMismatch(store, location, ref);
      if (corrupt) return err({ _tag: "ObjectCorrupt", key: ref.key, message: `object ${ref.key} is corrupt: ${corrupt}` });
      return err({ _tag: "DecryptionFailed", key: ref.key, reason, message: `cannot decrypt ${ref.key}: ${reason}` });
    }
  }
  const stages: NodeJS.ReadWriteStream[] = [decompressor(decoding.compression)];
  if (ref.rawSha256 !== undefined && ref.rawBytes !== undefined) stages.push(new Verifier(ref.key, { bytes: ref.rawBytes, sha256: ref.rawSha256 }));
  return ok(pipeline(stream, ...(stages as [NodeJS.ReadWriteStream]), () => {}) as unknown as Readable);
}

/** Size and sha256 of a stored object, read on its own; undefined when it cannot be read. */
export async function storedDigest(store: BackupStore, location: string): Promise<{ bytes: number; sha256: string } | undefined> {
  const got = await store.get(location);
  if (got.isErr()) return undefined;
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of got.value as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      hash.update(chunk);
    }
  } catch {
    return undefined;
  }
  return { bytes, sha256: hash.digest("hex") };
}

/**
 * After a consumer rejected an object's bytes (decryption, decompression, COPY FROM at a
 * malformed row), tells whether the object itself is corrupt: its stored size and sha256 checked
 * on their own. The difference in words, or undefined when it is intact (or cannot be read).
 */
export async function storedMismatch(store: BackupStore, location: string, ref: StoredRef): Promise<string | undefined> {
  const got = await storedDigest(store, location);
  if (!got || (got.bytes === ref.bytes && got.sha256 === ref.sha256)) return undefined;
  return got.bytes !== ref.bytes ? `${got.bytes} bytes, the manifest recorded ${ref.bytes}` : `sha256 ${got.sha256} does not match the manifest's ${ref.sha256}`;
}

/** What reading an object's bytes failed with, as the `ObjectCorrupt` that names it. */
export const corruptObject = (key: string, cause: unknown): { _tag: "ObjectCorrupt"; key: string; message: string } =>
  cause instanceof IntegrityError
    ? { _tag: "ObjectCorrupt", key, message: cause.message }
    : { _tag: "ObjectCorrupt", key, message: `object ${key} cannot be read: ${causeMessage(cause)}` };

