import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { CreateMultipartUploadCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_PARTS, maxObjectBytes, partSizeFor } from "@cobalt-backup/core";
import { s3Store } from "@cobalt-backup/core/s3";
import { buildS3Client } from "../packages/cli/src/adapters/s3-client.ts";
import { startFaultProxy } from "./support/fault-proxy.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";
import { storeConformance } from "./support/store-conformance.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => s3?.stop());

let n = 0;
storeConformance("s3:// (s3rver)", async () => s3Store({ client: s3.client, bucket: s3.bucket, prefix: `conformance/${++n}` }), {
  async strand(store, key) {
    // What a writer killed mid-upload leaves: a multipart upload begun, a part stored, never completed.
    const full = `${store.location.replace(`s3://${s3.bucket}/`, "")}${key}`;
    const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: full }));
    await s3.client.send(new UploadPartCommand({ Bucket: s3.bucket, Key: full, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
  },
});

it("an upload aborted or removed as unfinished leaves no part on the server", async () => {
  expect(s3.pendingUploads()).toEqual([]);
});

describe("multipart upload", () => {
  it("uploads an object in several parts and downloads it byte for byte", async () => {
    // Through a recording proxy: the requests the server saw are the proof of the parts.
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      const client = buildS3Client({ endpoint: proxy.endpoint, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
      const store = s3Store({ client, bucket: s3.bucket, prefix: "multipart", minPartSize: 5 * 1024 * 1024, queueSize: 2 });
      const body = randomBytes(13 * 1024 * 1024 + 123);
      const chunks = Array.from({ length: 14 }, (_, i) => body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      const put = await store.put("big.bin", Readable.from(chunks), { expectedBytes: body.length });
      expect(put._unsafeUnwrap().bytes).toBe(body.length);
      const writes = proxy.requests.filter((r) => r.url.includes("/multipart/big.bin") && (r.method === "PUT" || r.method === "POST"));
      const parts = writes.filter((r) => r.method === "PUT" && /[?&]partNumber=\d+/.test(r.url));
      // 13 MiB in parts of 5 MiB: 5 + 5 + 3, between one CreateMultipartUpload and one CompleteMultipartUpload.
      expect(parts.map((r) => Number(/partNumber=(\d+)/.exec(r.url)![1])).sort()).toEqual([1, 2, 3]);
      expect(parts.every((r) => r.status === 200)).toBe(true);
      expect(writes.filter((r) => r.method === "POST").map((r) => (r.url.includes("uploads") ? "create" : "complete"))).toEqual(["create", "complete"]);
      expect(writes.filter((r) => r.method === "PUT" && !/partNumber=/.test(r.url))).toEqual([]);
      const got = Buffer.concat(await (await store.get("big.bin"))._unsafeUnwrap().toArray());
      expect(got.equals(body)).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

describe("part size", () => {
  it("fits any object up to 5 TB in 10,000 parts, and keeps small objects at the minimum", () => {
    for (const size of [0, 1e6, 50e9, 1e12, 5e12]) {
      const part = partSizeFor(size);
      expect(maxObjectBytes(part)).toBeGreaterThanOrEqual(size);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
    }
    expect(partSizeFor(1e6)).toBe(5 * 1024 * 1024);
    expect(partSizeFor(5e12)).toBeLessThan(600 * 1024 * 1024);
  });
});
