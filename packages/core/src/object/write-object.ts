import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ResultAsync, err, ok, type Result } from "../result.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";
import { Meter } from "../util/meter.js";
import { Coalesce } from "../util/readable.js";
import { compressor } from "./compression.js";
import { encrypts, type ObjectEncoding } from "./encoding.js";
import { encryptingStream } from "./encryption.js";

export interface WriteObjectOptions extends ObjectEncoding {
  /** About how many bytes the stored object will have (an estimate is fine): sizes multipart parts. */
  expectedBytes?: number;
  /** Aborts the write; the store leaves nothing of the object behind. */
  signal?: AbortSignal;
  /** Called for every chunk of the source as it is read: its bytes and newlines (COPY rows). */
  onRaw?: (bytes: number, lines: number) => void;
  /** Called for every chunk of the encoded object as it goes to the store. */
  onStored?: (bytes: number) => void;
}

/** An object as written: its stored size and sha256 (what every read checks), and its source's. */
export interface WrittenObject {
  key: string;
  bytes: number;
  sha256: string;
  rawBytes: number;
  rawSha256: string;
  /** Newline bytes of the source: the rows of COPY text. */
  rawLines: number;
}

/** Why an object could not be written; nothing of it is left in the store after either. */
export type WriteObjectError =
  /** The store refused or failed the write (or threw: a failed write all the same). */
  | { _tag: "StoreFailed"; key: string; storeError: StoreError; message: string }
  /** Reading the source, compressing or encrypting failed; `cause` is what the source threw (a tagged Failure passes through). */
  | { _tag: "SourceFailed"; key: string; cause: unknown; message: string };

/**
 * Writes one object of a backup: the source is counted and hashed, compressed, encrypted when
 * the encoding says so, counted and hashed again as stored, and streamed to the store. The first
 * failure is the cause (a store that gives up ends the pipe feeding it, and a source that fails
 * ends the upload); both sides have settled when this settles, so an upload being aborted has
 * finished doing so, and an object stored despite a failed source is deleted.
 */
export function writeObject(store: BackupStore, key: string, source: Readable, opts: WriteObjectOptions): ResultAsync<WrittenObject, WriteObjectError> {
  return new ResultAsync(write(store, key, source, opts));
}

async function write(store: BackupStore, key: string, source: Readable, opts: WriteObjectOptions): Promise<Result<WrittenObject, WriteObjectError>> {
  const raw = new Meter(opts.onRaw);
  const stored = new Meter(opts.onStored ? (b) => opts.onStored!(b) : undefined);
  const body = new PassThrough();
  let first: WriteObjectError | undefined;
  const flowing = (async () => {
    const stages: NodeJS.ReadWriteStream[] = [new Coalesce(), raw, compressor(opts.compression, opts.compressionLevel)];
    if (encrypts(opts.encryption)) stages.push(await encryptingStream(opts.encryption));
    await pipeline(source, ...(stages as [NodeJS.ReadWriteStream]), stored, body);
  })().catch((cause: unknown) => {
    first ??= { _tag: "SourceFailed", key, cause, message: `writing ${key}: ${causeMessage(cause)}` };
    body.destroy(cause instanceof Error ? cause : new Error(String(cause)));
  });
  const putOptions = { ...(opts.expectedBytes !== undefined ? { expectedBytes: opts.expectedBytes } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
  const failed = (storeError: StoreError): undefined => {
    first ??= { _tag: "StoreFailed", key, storeError, message: storeError.message };
    // A store that gave up without reading the whole body must not leave the source waiting.
    body.destroy(new Error(storeError.message));
    return undefined;
  };
  const putting = Promise.resolve()
    .then(() => store.put(key, body, putOptions))
    .then(
      (r) => r.match((v) => v.bytes, failed),
      // A port that threw instead of returning its error failed the write all the same.
      (e: unknown) => failed({ _tag: "StoreIOFailed", key, message: `writing ${key}: ${causeMessage(e)}`, retryable: false }),
    );
  const [, storedBytes] = await Promise.all([flowing, putting]);
  if (first) {
    if (storedBytes !== undefined) await store.delete([key]).match(() => {}, () => {});
    return err(first);
  }
  if (storedBytes !== stored.bytes) {
    await store.delete([key]).match(() => {}, () => {});
    const message = `the store reports ${storedBytes} bytes for ${key}, ${stored.bytes} were sent`;
    return err({ _tag: "StoreFailed", key, storeError: { _tag: "StoreIOFailed", key, message, retryable: true }, message });
  }
  return ok({ key, bytes: stored.bytes, sha256: stored.sha256(), rawBytes: raw.bytes, rawSha256: raw.sha256(), rawLines: raw.lines });
}
