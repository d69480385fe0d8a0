import type { Readable } from "node:stream";
import type { ResultAsync } from "../result.js";

export interface StoredObject {
  key: string;
  bytes: number;
  modified: Date;
}

/**
 * Why a store operation failed. `retryable` says whether trying again may help (network,
 * throttling), as opposed to a missing object or a permission that will not change.
 */
export type StoreError =
  | { _tag: "ObjectNotFound"; key: string; message: string }
  | { _tag: "StoreUnwritable"; location: string; message: string }
  | { _tag: "StoreIOFailed"; key: string; message: string; retryable: boolean };

export interface PutOptions {
  /** About how many bytes the body will have (an estimate is fine); sizes multipart upload parts. */
  expectedBytes?: number;
}

/**
 * Where backups live: a flat key space of immutable objects (a directory, an S3 prefix).
 * Contract every implementation keeps (one conformance suite runs against each):
 * - `put` streams the body and makes the object visible only once it is complete, so a reader
 *   never sees half an object; `manifest.json` written last is therefore an atomic commit.
 * - `get` streams; a missing key is `ObjectNotFound`.
 * - `list` returns every complete object under a prefix, in key order.
 */
export interface BackupStore {
  /** The location without credentials, for messages and manifests. */
  readonly location: string;
  /** Proves the destination can be written, leaving nothing behind. Run before any backup work. */
  checkWritable(): ResultAsync<void, StoreError>;
  put(key: string, body: Readable, opts?: PutOptions): ResultAsync<{ bytes: number }, StoreError>;
  get(key: string): ResultAsync<Readable, StoreError>;
  list(prefix: string): ResultAsync<StoredObject[], StoreError>;
  delete(keys: readonly string[]): ResultAsync<void, StoreError>;
  /** Settings that bound the store's memory use (part size, queue size), for reports. */
  describe?(): Record<string, unknown>;
}
