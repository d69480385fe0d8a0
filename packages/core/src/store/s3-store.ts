import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { ResultAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import { Meter } from "../util/meter.js";
import type { BackupStore, PutOptions, StoreError, StoredObject } from "./backup-store.js";
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

/** An S3-compatible bucket (AWS S3, Backblaze B2, MinIO) as a BackupStore: `s3://bucket/prefix`. */
export function s3Store(opts: S3StoreOptions): BackupStore {
  const { client, bucket } = opts;
  const base = opts.prefix ? `${opts.prefix.replace(/^\/+|\/+$/g, "")}/` : "";
  const location = `s3://${bucket}/${base}`;
  const queueSize = opts.queueSize ?? 4;
  const fullKey = (key: string) => `${base}${key}`;
  const ioError = (key: string) => (cause: unknown): StoreError => {
    const name = (cause as { name?: string }).name;
    if (name === "NoSuchKey" || name === "NotFound") return { _tag: "ObjectNotFound", key, message: `no object ${key} in ${location}` };
    return { _tag: "StoreIOFailed", key, message: `${key} in ${location}: ${causeMessage(cause)}`, retryable: isRetryable(cause) };
  };
  const lock = () => (opts.lockUntil ? { ObjectLockMode: "COMPLIANCE" as const, ObjectLockRetainUntilDate: opts.lockUntil } : {});

  return {
    location,
    describe: () => ({ kind: "s3", queueSize, minPartSize: Math.max(opts.minPartSize ?? 8 * MiB, 5 * MiB) }),
    checkWritable: () =>
      ResultAsync.fromPromise(
        (async () => {
          const probe = fullKey(`.cobalt-write-check-${randomBytes(6).toString("hex")}`);
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: "" }));
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probe }));
        })(),
        (cause): StoreError => ({
          _tag: "StoreUnwritable",
          location,
          message: `cannot write to ${location}: ${causeMessage(cause)}; check the bucket name, endpoint, region and that the credentials may write there`,
        }),
      ),
    put: (key: string, body: Readable, putOpts: PutOptions = {}) =>
      ResultAsync.fromPromise(
        (async () => {
          const meter = new Meter();
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
          await upload.done();
          return { bytes: meter.bytes };
        })(),
        ioError(key),
      ),
    get: (key) =>
      ResultAsync.fromPromise(
        client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key) })).then((r) => r.Body as Readable),
        ioError(key),
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
        ioError(prefix),
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
        ioError(keys[0] ?? ""),
      ),
  };
}
