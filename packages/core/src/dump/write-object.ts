import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { err, type Result } from "../result.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { Meter } from "../util/meter.js";
import { compressor, suffix, type Compression } from "./compression.js";
import { encryptingStream, type EncryptionKeys } from "./encryption.js";

/** How a backup's objects are written: compression, then encryption for age recipients. */
export interface ObjectFormat {
  compression: Compression;
  compressionLevel?: number;
  /** Every object but the manifest is encrypted when given with a recipient or a passphrase. */
  encryption?: EncryptionKeys;
}

export const isEncrypted = (f: ObjectFormat): boolean => Boolean(f.encryption && (f.encryption.recipients.length > 0 || f.encryption.passphrase));

/** The end of an object's key: `.zst`, `.gz` or nothing, then `.age` when encrypted (which tool opens it). */
export const objectSuffix = (f: ObjectFormat): string => `${suffix(f.compression)}${isEncrypted(f) ? ".age" : ""}`;

/** What was written: the stored object's size and sha256, and the raw stream's (COPY text). */
export interface WrittenObject {
  bytes: number;
  sha256: string;
  rawBytes: number;
  rawSha256: string;
  /** Newlines in the raw stream: COPY text has one per row. */
  lines: number;
}

/** The store refused the object; anything else thrown by `writeObject` is the source's failure. */
export class StoreWriteFailed extends Error {
  constructor(readonly storeError: StoreError) {
    super(storeError.message);
    this.name = "StoreWriteFailed";
  }
}

/**
 * Streams `source` into the store as one object: counted and hashed raw, compressed, encrypted,
 * hashed again as stored. Settles only once both the stream and the upload have (an aborted
 * upload has finished aborting), rejecting with the first failure: `StoreWriteFailed` when the
 * store refused it, the source's own error otherwise.
 */
export async function writeObject(
  store: BackupStore,
  key: string,
  source: Readable,
  format: ObjectFormat,
  opts: { expectedBytes?: number; signal?: AbortSignal; onRaw?: (bytes: number, lines: number) => void; onStored?: (bytes: number) => void } = {},
): Promise<WrittenObject> {
  const raw = new Meter(opts.onRaw);
  const stored = new Meter(opts.onStored ? (b) => opts.onStored!(b) : undefined);
  const body = new PassThrough();
  const compress = compressor(format.compression, format.compressionLevel);
  const flowing = isEncrypted(format)
    ? pipeline(source, raw, compress, await encryptingStream(format.encryption!), stored, body)
    : pipeline(source, raw, compress, stored, body);
  const put = async (): Promise<number> => {
    let r: Result<{ bytes: number }, StoreError>;
    try {
      r = await store.put(key, body, { ...(opts.expectedBytes !== undefined ? { expectedBytes: opts.expectedBytes } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (e) {
      // An exception the store port threw (instead of returning an error) is a failed upload too.
      r = err({ _tag: "StoreIOFailed", key, message: `writing ${key}: ${causeMessage(e)}`, retryable: false });
    }
    if (r.isErr()) throw new StoreWriteFailed(r.error);
    return r.value.bytes;
  };
  // The first failure is the cause: a put that fails without reading the whole body ends the
  // pipeline feeding it, whose failure is then a consequence.
  let first: { error: unknown } | undefined;
  const noted = <T>(p: Promise<T>) =>
    p.catch((error: unknown) => {
      first ??= { error };
      throw error;
    });
  const uploading = noted(put()).catch((e: unknown) => {
    body.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  });
  const [, uploaded] = await Promise.allSettled([noted(flowing), uploading]);
  if (first) throw first.error;
  return { bytes: (uploaded as PromiseFulfilledResult<number>).value, sha256: stored.sha256(), rawBytes: raw.bytes, rawSha256: raw.sha256(), lines: raw.lines };
}
