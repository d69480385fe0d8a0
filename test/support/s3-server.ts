/** A real S3 HTTP server (s3rver) on 127.0.0.1 for tests, with the client the CLI would build. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { buildS3Client } from "../../packages/cli/src/adapters/s3-client.ts";
import { freePort } from "../../packages/cli/src/adapters/embedded-postgres.ts";

export interface S3Server {
  endpoint: string;
  bucket: string;
  client: S3Client;
  /** Environment for the CLI: s3rver's fixed credentials and region. */
  env: Record<string, string>;
  /** Multipart uploads begun and neither completed nor aborted, as s3rver holds them on disk (parts included). */
  pendingUploads(): { key: string; uploadId: string; parts: number }[];
  stop(): Promise<void>;
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * s3rver keeps a multipart upload's parts in `<bucket>/._S3rver_uploads/<uploadId>/` until it is
 * completed, but answers ListMultipartUploads with NotImplemented and AbortMultipartUpload with
 * 405. These two operations, implemented on that directory exactly as S3 documents them, make a
 * killed upload visible and an abort real, so tests see what an S3 bucket would hold.
 */
function multipartOperations(directory: string) {
  const uploadsDir = (bucket: string) => join(directory, bucket, "._S3rver_uploads");
  const uploads = (bucket: string) => {
    const dir = uploadsDir(bucket);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((uploadId) => ({
      uploadId,
      key: readFileSync(join(dir, uploadId, "key"), "utf8"),
      initiated: statSync(join(dir, uploadId, "key")).mtime,
      parts: readdirSync(join(dir, uploadId)).filter((f) => /^\d+$/.test(f)).length,
    }));
  };
  const middleware = async (ctx: any, next: () => Promise<void>) => {
    const [, bucket, ...rest] = decodeURIComponent(ctx.path).split("/");
    const key = rest.join("/");
    if (ctx.method === "GET" && bucket && !key && "uploads" in ctx.query) {
      const prefix = String(ctx.query.prefix ?? "");
      const listed = uploads(bucket).filter((u) => u.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.uploadId < b.uploadId ? -1 : 1));
      ctx.type = "application/xml";
      ctx.body =
        `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${xml(bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
        listed.map((u) => `<Upload><Key>${xml(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`).join("") +
        `</ListMultipartUploadsResult>`;
      return;
    }
    if (ctx.method === "DELETE" && bucket && key && typeof ctx.query.uploadId === "string") {
      const dir = join(uploadsDir(bucket), ctx.query.uploadId.replace(/[^0-9a-f]/gi, ""));
      if (!existsSync(dir)) {
        ctx.status = 404;
        ctx.type = "application/xml";
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`;
        return;
      }
      rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    await next();
  };
  return { middleware, uploads };
}

export async function startS3(bucket = "cobalt-test"): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), "cobalt-s3rver-"));
  const port = await freePort();
  const server = new S3rver({ address: "127.0.0.1", port, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const multipart = multipartOperations(directory);
  (server as unknown as { middleware: unknown[] }).middleware.unshift(multipart.middleware);
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  return {
    endpoint,
    bucket,
    client: buildS3Client({ endpoint, region: "us-east-1", credentials }),
    env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: "us-east-1" },
    pendingUploads: () => multipart.uploads(bucket).map(({ key, uploadId, parts }) => ({ key, uploadId, parts })),
    async stop() {
      // A request left half-sent (a client killed mid-part) would keep close() waiting for ever.
      (server as unknown as { httpServer?: { closeAllConnections(): void } }).httpServer?.closeAllConnections();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
