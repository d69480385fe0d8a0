import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { ResultAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import { Meter } from "../util/meter.js";
import { readableOf } from "../util/readable.js";
import type { BackupStore, PutOptions, StoreError, StoredObject, UnfinishedUpload } from "./backup-store.js";
import { partSizeFor } from "./part-size.js";

export interface S3StoreOptions {
  /**
   * A configured client (endpoint, region, credentials, path style, and checksums
   * `WHEN_REQUIRED`: Backblaze B2 rejects the SDK's default CRC32 headers). Built by adapters.
   */
  client: S3Client;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ("" for the bucket root). */
  prefix: string;
  /** Parts uploaded in parallel per object (default 4). Memory per upload is about partSize x queueSize. */
  queueSize?: number;
  /** Smallest part size in bytes (default 8 MiB); larger when an object is expected to be large. */
  minPartSize?: number;
  /** Object Lock: every object written is kept until then (COMPLIANCE mode); the bucket must have Object Lock enabled. */
  lockUntil?: Date;
}

const MiB = 1024 * 1024;

/** Status codes and error names worth another try: the SDK already retried, but say so. */
const isRetryable = (e: unknown): boolean => {
  const err = e as { $metadata?: { httpStatusCode?: number }; name?: string; code?: string };
  const status = err.$metadata?.httpStatusCode ?? 0;
  return status >= 500 || status === 429 || /Throttl|SlowDown|Timeout|ECONNRESET|EPIPE/i.test(`${err.name} ${err.code}`);
};

/** Failures that mean the store itself is out of reach (a configuration to fix), not one object or a moment. */
function unavailable(e: unknown): "no-bucket" | "denied" | "credentials" | "unreachable" | undefined {
  const err = e as { name?: string; code?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } };
  const name = err.name ?? "";
  if (name === "NoSuchBucket" || name === "InvalidBucketName" || name === "PermanentRedirect") return "no-bucket";
  if (/^(AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|InvalidToken|ExpiredToken)$/.test(name)) return "denied";
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(causeMessage(e))) return "credentials";
  if (/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)$/.test(err.code ?? err.cause?.code ?? "")) return "unreachable";
  return undefined;
}

const HINTS = {
  "no-bucket": "check the bucket name and the region",
  denied: "check the access key, its secret and that it may use this bucket",
  credentials: "give credentials: a named profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
  unreachable: "check the endpoint and the network",
} as const;

/** An S3-compatible bucket (AWS S3, Backblaze B2, MinIO) as a BackupStore: `s3://bucket/prefix`. */
export function s3Store(opts: S3StoreOptions): BackupStore {
  const { client, bucket } = opts;
  const base = opts.prefix ? `${opts.prefix.replace(/^\/+|\/+$/g, "")}/` : "";
  const location = `s3://${bucket}/${base}`;
  const queueSize = opts.queueSize ?? 4;
  const fullKey = (key: string) => `${base}${key}`;
  /** `what` names the operation ("reading data/0001.copy.zst", "listing"), so no message has an empty key. */
  const ioError = (what: string, key: string) => (cause: unknown): StoreError => {
    const name = (cause as { name?: string }).name;
    if (key && (name === "NoSuchKey" || name === "NotFound")) return { _tag: "ObjectNotFound", key, message: `no object ${key} in ${location}` };
    const reason = unavailable(cause);
    if (reason) return { _tag: "StoreUnavailable", location, reason, message: `${what} in ${location}: ${causeMessage(cause)}; ${HINTS[reason]}` };
    return { _tag: "StoreIOFailed", key, message: `${what} in ${location}: ${causeMessage(cause)}`, retryable: isRetryable(cause) };
  };
  const lock = () => (opts.lockUntil ? { ObjectLockMode: "COMPLIANCE" as const, ObjectLockRetainUntilDate: opts.lockUntil } : {});

  return {
    location,
    describe: () => ({ kind: "s3", queueSize, minPartSize: Math.max(opts.minPartSize ?? 8 * MiB, 5 * MiB) }),
    checkWritable: () =>
      ResultAsync.fromPromise(
        (async () => {
          const probe = fullKey(`.cobalt-write-check-${randomBytes(6).toString("hex")}`);
          // An empty body with its length: a body of unknown length makes the SDK warn on stderr.
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: new Uint8Array(0), ContentLength: 0 }));
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probe }));
        })(),
        (cause): StoreError => {
          const reason = unavailable(cause);
          // Out of reach (no bucket, refused credentials) is the configuration's; anything else (a 503) the moment's.
          if (reason) return { _tag: "StoreUnavailable", location, reason, message: `cannot write to ${location}: ${causeMessage(cause)}; ${HINTS[reason]}` };
          return { _tag: "StoreIOFailed", key: "", retryable: isRetryable(cause), message: `cannot write to ${location}: ${causeMessage(cause)}; check the bucket name, endpoint, region and that the credentials may write there` };
        },
      ),
    put: (key: string, content: Readable | Buffer, putOpts: PutOptions = {}) =>
      ResultAsync.fromPromise(
        (async () => {
          const body = Buffer.isBuffer(content) ? readableOf(content) : content;
          const meter = new Meter(undefined, { hash: false });
          const partSize = partSizeFor(putOpts.expectedBytes ?? 0, opts.minPartSize ?? 8 * MiB);
          const upload = new Upload({
            client,
            params: { Bucket: bucket, Key: fullKey(key), Body: body.pipe(meter), ...lock() },
            partSize,
            queueSize,
            // A failed upload is aborted: no parts left behind to be billed, no object.
            leavePartsOnError: false,
          });
          body.once("error", (e) => meter.destroy(e));
          // Abort by failing the body, not with upload.abort(): done() then settles only after the
          // parts in flight have finished and AbortMultipartUpload was sent.
          const onAbort = () => meter.destroy(Object.assign(new Error(`upload of ${key} aborted`), { name: "AbortError" }));
          if (putOpts.signal?.aborted) onAbort();
          putOpts.signal?.addEventListener("abort", onAbort, { once: true });
          try {
            await upload.done();
          } finally {
            putOpts.signal?.removeEventListener("abort", onAbort);
          }
          return { bytes: meter.bytes };
        })(),
        ioError(`writing ${key}`, key),
      ),
    get: (key) =>
      ResultAsync.fromPromise(
        client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key) })).then((r) => r.Body as Readable),
        ioError(`reading ${key}`, key),
      ),
    list: (prefix) =>
      ResultAsync.fromPromise(
        (async () => {
          const out: StoredObject[] = [];
          let token: string | undefined;
          do {
            const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: fullKey(prefix), ContinuationToken: token }));
            for (const o of page.Contents ?? []) {
              const key = (o.Key ?? "").slice(base.length);
              if (key.startsWith(".cobalt-write-check-")) continue;
              out.push({ key, bytes: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
          } while (token);
          return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        })(),
        ioError("listing", ""),
      ),
    delete: (keys) =>
      ResultAsync.fromPromise(
        (async () => {
          for (let i = 0; i < keys.length; i += 1000) {
            const batch = keys.slice(i, i + 1000);
            const r = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((k) => ({ Key: fullKey(k) })), Quiet: true } }));
            const failed = r.Errors?.[0];
            if (failed) throw new Error(`deleting ${failed.Key}: ${failed.Code} ${failed.Message}`);
          }
        })(),
        ioError(`deleting ${keys.length} object(s)`, ""),
      ),
    listUnfinished: (prefix) =>
      ResultAsync.fromPromise(
        (async () => {
          const out: UnfinishedUpload[] = [];
          let keyMarker: string | undefined;
          let uploadIdMarker: string | undefined;
          do {
            const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: fullKey(prefix), KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
            for (const u of page.Uploads ?? []) {
              if (u.Key && u.UploadId) out.push({ key: u.Key.slice(base.length), started: u.Initiated ?? new Date(0), uploadId: u.UploadId });
            }
            [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
          } while (keyMarker || uploadIdMarker);
          return out;
        })(),
        ioError("listing unfinished multipart uploads", ""),
      ),
    abortUnfinished: (uploads) =>
      ResultAsync.fromPromise(
        (async () => {
          for (const u of uploads) {
            await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: fullKey(u.key), UploadId: u.uploadId })).catch((e: { name?: string }) => {
              if (e.name !== "NoSuchUpload") throw e;
            });
          }
        })(),
        ioError(`aborting ${uploads.length} multipart upload(s)`, ""),
      ),
  };
}
