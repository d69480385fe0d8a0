/**
 * The staging bucket: where a Distributed Map's ItemReader reads its items. The lists are copied
 * there from the store, because the reader reads only S3 in this account and the store may be B2.
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { BackupStore } from "@cobalt-backup/core";
import { stepError, value } from "./errors.js";

const s3 = new S3Client({});

/** Copies a small JSON object of the store to `key` in the staging bucket. */
export async function stageItems(store: BackupStore, from: string, bucket: string, key: string): Promise<void> {
  const got = await store.get(from).match(value, stepError);
  const chunks: Buffer[] = [];
  for await (const c of got as AsyncIterable<Buffer>) chunks.push(c);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat(chunks), ContentType: "application/json" }));
}
