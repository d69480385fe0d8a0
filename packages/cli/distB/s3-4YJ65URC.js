#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import {
  Meter,
  partSizeFor
} from "./chunk-RSPZTCWW.js";
import {
  ResultAsync,
  causeMessage
} from "./chunk-SZRQ5ROZ.js";
import "./chunk-IOUMZER7.js";

// ../core/dist/s3.js
import { randomBytes } from "crypto";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
var MiB = 1024 * 1024;
var isRetryable = (e) => {
  const err = e;
  const status = err.$metadata?.httpStatusCode ?? 0;
  return status >= 500 || status === 429 || /Throttl|SlowDown|Timeout|ECONNRESET|EPIPE/i.test(`${err.name} ${err.code}`);
};
function unavailable(e) {
  const err = e;
  const name = err.name ?? "";
  if (name === "NoSuchBucket" || name === "InvalidBucketName" || name === "PermanentRedirect") return "no-bucket";
  if (/^(AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|InvalidToken|ExpiredToken)$/.test(name)) return "denied";
  if (name === "CredentialsProviderError" || /Could not load credentials/i.test(causeMessage(e))) return "credentials";
  if (/^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)$/.test(err.code ?? err.cause?.code ?? "")) return "unreachable";
  return void 0;
}
var HINTS = {
  "no-bucket": "check the bucket name and the region",
  denied: "check the access key, its secret and that it may use this bucket",
  credentials: "give credentials: a named profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
  unreachable: "check the endpoint and the network"
};
function s3Store(opts) {
  const { client, bucket } = opts;
  const base = opts.prefix ? `${opts.prefix.replace(/^\/+|\/+$/g, "")}/` : "";
  const location = `s3://${bucket}/${base}`;
  const queueSize = opts.queueSize ?? 4;
  const fullKey = (key) => `${base}${key}`;
  const ioError = (what, key) => (cause) => {
    const name = cause.name;
    if (key && (name === "NoSuchKey" || name === "NotFound")) return { _tag: "ObjectNotFound", key, message: `no object ${key} in ${location}` };
    const reason = unavailable(cause);
    if (reason) return { _tag: "StoreUnavailable", location, reason, message: `${what} in ${location}: ${causeMessage(cause)}; ${HINTS[reason]}` };
    return { _tag: "StoreIOFailed", key, message: `${what} in ${location}: ${causeMessage(cause)}`, retryable: isRetryable(cause) };
  };
  const lock = () => opts.lockUntil ? { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: opts.lockUntil } : {};
  return {
    location,
    describe: () => ({ kind: "s3", queueSize, minPartSize: Math.max(opts.minPartSize ?? 8 * MiB, 5 * MiB) }),
    checkWritable: () => ResultAsync.fromPromise(
      (async () => {
        const probe = fullKey(`.cobalt-write-check-${randomBytes(6).toString("hex")}`);
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: new Uint8Array(0), ContentLength: 0 }));
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probe }));
      })(),
      (cause) => {
        const reason = unavailable(cause);
        if (reason) return { _tag: "StoreUnavailable", location, reason, message: `cannot write to ${location}: ${causeMessage(cause)}; ${HINTS[reason]}` };
        return { _tag: "StoreIOFailed", key: "", retryable: isRetryable(cause), message: `cannot write to ${location}: ${causeMessage(cause)}; check the bucket name, endpoint, region and that the credentials may write there` };
      }
    ),
    put: (key, body, putOpts = {}) => ResultAsync.fromPromise(
      (async () => {
        const meter = new Meter(void 0, { hash: false });
        const partSize = partSizeFor(putOpts.expectedBytes ?? 0, opts.minPartSize ?? 8 * MiB);
        const upload = new Upload({
          client,
          params: { Bucket: bucket, Key: fullKey(key), Body: body.pipe(meter), ...lock() },
          partSize,
          queueSize,
          // A failed upload is aborted: no parts left behind to be billed, no object.
          leavePartsOnError: false
        });
        body.once("error", (e) => meter.destroy(e));
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
      ioError(`writing ${key}`, key)
    ),
    get: (key) => ResultAsync.fromPromise(
      client.send(new GetObjectCommand({ Bucket: bucket, Key: fullKey(key) })).then((r) => r.Body),
      ioError(`reading ${key}`, key)
    ),
    list: (prefix) => ResultAsync.fromPromise(
      (async () => {
        const out = [];
        let token;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: fullKey(prefix), ContinuationToken: token }));
          for (const o of page.Contents ?? []) {
            const key = (o.Key ?? "").slice(base.length);
            if (key.startsWith(".cobalt-write-check-")) continue;
            out.push({ key, bytes: o.Size ?? 0, modified: o.LastModified ?? /* @__PURE__ */ new Date(0) });
          }
          token = page.IsTruncated ? page.NextContinuationToken : void 0;
        } while (token);
        return out.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
      })(),
      ioError("listing", "")
    ),
    delete: (keys) => ResultAsync.fromPromise(
      (async () => {
        for (let i = 0; i < keys.length; i += 1e3) {
          const batch = keys.slice(i, i + 1e3);
          const r = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((k) => ({ Key: fullKey(k) })), Quiet: true } }));
          const failed = r.Errors?.[0];
          if (failed) throw new Error(`deleting ${failed.Key}: ${failed.Code} ${failed.Message}`);
        }
      })(),
      ioError(`deleting ${keys.length} object(s)`, "")
    ),
    listUnfinished: (prefix) => ResultAsync.fromPromise(
      (async () => {
        const out = [];
        let keyMarker;
        let uploadIdMarker;
        do {
          const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: fullKey(prefix), KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
          for (const u of page.Uploads ?? []) {
            if (u.Key && u.UploadId) out.push({ key: u.Key.slice(base.length), started: u.Initiated ?? /* @__PURE__ */ new Date(0), uploadId: u.UploadId });
          }
          [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [void 0, void 0];
        } while (keyMarker || uploadIdMarker);
        return out;
      })(),
      ioError("listing unfinished multipart uploads", "")
    ),
    abortUnfinished: (uploads) => ResultAsync.fromPromise(
      (async () => {
        for (const u of uploads) {
          await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: fullKey(u.key), UploadId: u.uploadId })).catch((e) => {
            if (e.name !== "NoSuchUpload") throw e;
          });
        }
      })(),
      ioError(`aborting ${uploads.length} multipart upload(s)`, "")
    )
  };
}
export {
  s3Store
};
//# sourceMappingURL=s3-4YJ65URC.js.map