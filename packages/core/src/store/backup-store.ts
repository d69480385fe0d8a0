import type { Readable } from "node:stream";
import type { ResultAsync } from "../result.js";

export interface StoredObject {
  key: string;
  bytes: number;
  modified: Date;
}

/**
 * Something a writer started and never finished: an S3 multipart upload never completed or
 * aborted (its parts are billed), a file store's temporary `*.partial-*` file or a directory left
 * empty. Invisible to `list`; found and removed by `prune` once older than its grace period.
 */
export interface UnfinishedUpload {
  /** The key (or, for an empty directory, the key prefix ending in `/`) it was writing. */
  key: string;
  started: Date;
  /** The store's own handle for it (an S3 upload id). */
  uploadId?: string;
}

/**
 * Why a store operation failed. `retryable` says whether trying again may help (network,
 * throttling), as opposed to a missing object or a permission that will not change.
 * `StoreUnavailable` is the store itself being out of reach: no such bucket, refused
 * credentials, an endpoint that does not answer: an operator must fix the configuration.
 */
export type StoreError =
  | { _tag: "ObjectNotFound"; key: string; message: string }
  | { _tag: "StoreUnwritable"; location: string; message: string }
  | { _tag: "StoreUnavailable"; location: string; reason: "no-bucket" | "denied" | "credentials" | "unreachable"; message: string }
  | { _tag: "StoreIOFailed"; key: string; message: string; retryable: boolean };

export interface PutOptions {
  /** About how many bytes the body will have (an estimate is fine); sizes multipart upload parts. */
  expectedBytes?: number;
  /**
   * Aborts the write: a multipart upload is aborted (its parts deleted), a temporary file removed.
   * `put` settles only once that is done, so nothing of the object remains when it rejects.
   */
  signal?: AbortSignal;
}

/**
 * Where backups live: a flat key space of immutable objects (a directory, an S3 prefix).
 * Contract every implementation keeps (one conformance suite runs against each):
 * - `put` streams the body and makes the object visible only once it is complete, so a reader
 *   never sees half an object; `manifest.json` written last is therefore an atomic commit. A put
 *   that fails or is aborted leaves nothing behind.
 * - `get` streams; a missing key is `ObjectNotFound`.
 * - `list` returns every complete object under a prefix, in key order.
 * - `listUnfinished` finds what writers that were killed left (never listed by `list`), and
 *   `abortUnfinished` removes it.
 */
export interface BackupStore {
  /** The location without credentials, for messages and manifests. */
  readonly location: string;
  /** Proves the destination can be written, leaving nothing behind. Run before any backup work. */
  checkWritable(): ResultAsync<void, StoreError>;
  /** `body`: a stream, or bytes already in memory (a small encoded object, a JSON document), which a store may write in one call. */
  put(key: string, body: Readable | Buffer, opts?: PutOptions): ResultAsync<{ bytes: number }, StoreError>;
  get(key: string): ResultAsync<Readable, StoreError>;
  list(prefix: string): ResultAsync<StoredObject[], StoreError>;
  delete(keys: readonly string[]): ResultAsync<void, StoreError>;
  listUnfinished(prefix: string): ResultAsync<UnfinishedUpload[], StoreError>;
  abortUnfinished(uploads: readonly UnfinishedUpload[]): ResultAsync<void, StoreError>;
  /** Settings that bound the store's memory use (part size, queue size), for reports. */
  describe?(): Record<string, unknown>;
}
